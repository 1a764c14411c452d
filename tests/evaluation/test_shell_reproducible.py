"""Each sql/metrics file run by the `duckdb` shell binary gives the numbers Python gets."""

import io
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from recsys.config import REPO_ROOT
from recsys.evaluation.runner import compute_metrics
from recsys.evaluation.sql import METRICS_SQL_DIR, run_query, shell_command

DUCKDB_CLI = Path(sys.executable).parent / "duckdb"
if not DUCKDB_CLI.exists():
    DUCKDB_CLI = Path(shutil.which("duckdb") or DUCKDB_CLI)
pytestmark = pytest.mark.skipif(not DUCKDB_CLI.exists(), reason="duckdb shell (duckdb-cli) not installed")

KEYS = ["fold", "target", "model", "convention", "subset", "metric", "k"]


def shell(path: Path, *commands: str) -> pd.DataFrame:
    args = [str(DUCKDB_CLI), "-readonly", str(path), "-csv"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return pd.read_csv(io.StringIO(done.stdout))


@pytest.mark.parametrize(("query", "convention"), [
    ("accuracy", "standard"), ("accuracy", "paper"), ("accuracy", "official"),
    ("coverage", "standard"), ("coverage", "paper"), ("coverage", "official"),
    ("popularity", "standard"), ("diversity", "standard"),
])
def test_each_file_runs_unchanged_in_the_shell(random_warehouse, query, convention):
    path, _ = random_warehouse
    from_shell = shell(path, "SET VARIABLE ks = [1, 5]", f"SET VARIABLE convention = '{convention}'",
                       f".read {METRICS_SQL_DIR / (query + '.sql')}")
    con = duckdb.connect(str(path), read_only=True)
    from_python = run_query(con, query, {"ks": [1, 5], "convention": convention})
    con.close()
    assert len(from_shell) == len(from_python) > 0
    merged = from_shell.merge(from_python, on=KEYS, suffixes=("_sh", "_py"))
    assert len(merged) == len(from_python)
    assert (merged["value_sh"] - merged["value_py"]).abs().max() < 1e-12
    assert (merged["users_sh"] == merged["users_py"]).all()


def test_defaults_apply_when_no_variable_is_set(random_warehouse):
    path, _ = random_warehouse
    from_shell = shell(path, f".read {METRICS_SQL_DIR / 'accuracy.sql'}")
    assert sorted(from_shell["k"].unique()) == [10, 100]


def test_the_documented_command_reproduces_the_metrics_table(random_warehouse, tmp_path):
    path, _ = random_warehouse
    copy = tmp_path / "scored.duckdb"
    shutil.copy(path, copy)
    con = duckdb.connect(str(copy))
    run = compute_metrics(con, ks=[1, 5])
    con.close()
    command = shell_command(copy, "accuracy", {"ks": [1, 5], "fold": "test"})
    assert command.startswith(".venv/bin/duckdb") and ".read sql/metrics/accuracy.sql" in command
    recomputed = shell(copy, "SET VARIABLE ks = [1, 5]", "SET VARIABLE fold = 'test'",
                       ".read sql/metrics/accuracy.sql")
    stored = run.metrics[run.metrics["fold"] == "test"]
    merged = recomputed.merge(stored, on=KEYS, suffixes=("_sh", "_db"))
    assert len(merged) == len(recomputed) > 0
    assert (merged["value_sh"] - merged["value_db"]).abs().max() < 1e-12
    aggregated = shell(copy, ".read sql/metrics/aggregate.sql")
    assert len(aggregated.merge(run.metrics, on=KEYS)) == len(aggregated)


def test_recall_curve_runs_unchanged_in_the_shell(random_warehouse):
    path, _ = random_warehouse
    query = METRICS_SQL_DIR / "recall_curve.sql"
    from_shell = shell(path, "SET VARIABLE curve_ks = [1, 3, 7]", f".read {query}")
    con = duckdb.connect(str(path), read_only=True)
    from_python = run_query(con, "recall_curve", {"curve_ks": [1, 3, 7]})
    con.close()
    keys = ["fold", "target", "model", "k"]
    merged = from_shell.merge(from_python, on=keys, suffixes=("_sh", "_py"))
    assert len(merged) == len(from_python) > 0 and sorted(set(merged["k"])) == [1, 3, 7]
    assert (merged["value_sh"] - merged["value_py"]).abs().max() < 1e-12
