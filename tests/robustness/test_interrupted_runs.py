"""Interrupted runs: a real ``recsys build`` / ``recsys evaluate`` killed with SIGKILL half-way
leaves the previous complete warehouse and reports; the next run completes.

``recsys build`` runs dbt on a copy (``<warehouse>.building``) renamed over the warehouse only
when dbt succeeded; ``recsys evaluate`` replaces each (fold, target, model) slice in one
transaction and writes reports to a temp file renamed into place.
"""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from robust_fixtures import copy_settings, kill, start_cli, table_digests, wait_for

pytestmark = pytest.mark.slow

EVENT_FILES = [f"flat/tiny/{n}.parquet" for n in ("listens", "likes", "dislikes", "unlikes", "undislikes")]
ROOT_FILES = ["embeddings.parquet", "artist_item_mapping.parquet", "album_item_mapping.parquet"]
SLICED = {  # Python-written tables and the key of one atomic write
    "candidates": ["fold", "target", "model"],
    "recommendations": ["fold", "target", "model"],
    "metrics": ["fold"],
    "metrics_per_user": ["fold"],
}


def _row_expression(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The row to hash, floats rounded to 1e-9: DuckDB's parallel float sums (novelty, popularity
    bias) may differ in the last bits between two runs of the same input."""
    columns = con.execute(f"select column_name, column_type from (describe {table})").fetchall()
    return "row(" + ", ".join(f"round({c}, 9)" if t in ("DOUBLE", "FLOAT") else c for c, t in columns) + ")"


def slice_digests(path: Path) -> dict[tuple, tuple[int, int]]:
    """(table, key values) -> (rows, hash) for every slice of the Python-written tables."""
    con = duckdb.connect(str(path), read_only=True)
    out = {}
    try:
        for table, key in SLICED.items():
            cols = ", ".join(key)
            row_expr = _row_expression(con, table)
            for row in con.execute(f"select {cols}, count(*), coalesce(sum(hash({row_expr})), 0) "
                                   f"from {table} as t group by all").fetchall():
                out[(table, *row[: len(key)])] = tuple(row[len(key):])
    finally:
        con.close()
    return out


def created_models(log: Path) -> int:
    if not log.exists():
        return 0
    return log.read_text(errors="replace").count("OK created sql table model")


def changed_dataset(source: Path, root: Path) -> Path:
    """``source`` with a seventh of the users' listens dropped (every mart but folds changes)."""
    for name in (*EVENT_FILES, *ROOT_FILES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if name != "flat/tiny/listens.parquet":
            (root / name).symlink_to(source / name)
    listens = pq.read_table(source / "flat/tiny/listens.parquet")
    keep = pc.not_equal(pc.bit_wise_and(listens["uid"], 7), 0)
    pq.write_table(listens.filter(keep), root / "flat/tiny/listens.parquet")
    return root


def test_killed_build_leaves_the_previous_warehouse_and_the_next_build_completes(tiny_warehouse, tmp_path):
    settings = copy_settings(tiny_warehouse, tmp_path)
    # a Python-written table must survive builds (the staging file is a copy of the warehouse)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table candidates as select 'test' as fold, 'like' as target, "
                    "'mostpop' as model, 1::uinteger as uid, 5::uinteger as item_id, 1 as rank, 1.0 as score")
    before = table_digests(settings.warehouse)
    settings = settings.with_(data_dir=changed_dataset(tiny_warehouse.data_dir, tmp_path / "data"))
    staging = Path(f"{settings.warehouse}.building")
    log = tmp_path / "dbt_logs" / "dbt.log"

    proc = start_cli(settings, "build", "-q", cwd=tmp_path)
    # kill once dbt has committed several tables from the new data: the classic half-tiny_warehouse state
    wait_for(lambda: created_models(log) >= 5, proc)
    kill(proc)
    assert table_digests(settings.warehouse) == before  # the warehouse is the previous one ...
    half = table_digests(staging)  # ... while the staging copy is a mix of old and new marts
    changed = {n for n in before if half.get(n) != before[n]}
    assert changed and changed != set(before), changed
    # the input files changed, so Python's tables were dropped from the copy before dbt read
    # them; the warehouse itself still has them
    assert "candidates" not in half and "candidates" in table_digests(settings.warehouse)

    # the previous warehouse is usable: its marts answer a query
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from eval_targets join folds using (fold)").fetchone()[0] > 0

    # the next build completes and replaces the leftover staging file; the input files changed
    # since `candidates` was written, so it is dropped (recsys.state), and only that
    proc = start_cli(settings, "build", "-q", "--select", "folds", cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert "nodes OK" in err and "dropped candidates" in err
    assert not staging.exists() and not Path(f"{staging}.wal").exists()
    after = table_digests(settings.warehouse)
    assert "candidates" not in after and "slice_state" not in after  # (it held the mart's vars)
    kept = {n: d for n, d in before.items() if n not in ("candidates", "build_state", "slice_state")}
    assert {n: d for n, d in after.items() if n != "build_state"} == kept  # folds: identical


def test_killed_evaluate_leaves_complete_slices_and_reports(evaluated, tmp_path):
    base, _ = evaluated
    settings = copy_settings(base, tmp_path)
    old = slice_digests(settings.warehouse)
    old_reports = {p.name: p.read_bytes() for p in settings.reports_dir.iterdir()}
    args = ("evaluate", "--models", "random,mostpop,ials", "--no-two-stage", "--quiet",
            "--bootstrap-samples", "5", "--seed", "7")  # another seed: new slices differ
    mtime = settings.warehouse.stat().st_mtime_ns

    proc = start_cli(settings, *args, cwd=tmp_path)
    # kill once the run has started writing into the warehouse
    wait_for(lambda: settings.warehouse.stat().st_mtime_ns != mtime, proc)
    time.sleep(0.5)
    kill(proc)
    killed = slice_digests(settings.warehouse)
    killed_reports = {p.name: p.read_bytes() for p in settings.reports_dir.iterdir()
                      if not p.name.startswith(".")}
    pd.read_csv(settings.reports_dir / "metrics.csv")  # the report still parses

    proc = start_cli(settings, *args, cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    new = slice_digests(settings.warehouse)
    new_reports = {p.name: p.read_bytes() for p in settings.reports_dir.iterdir()
                   if not p.name.startswith(".")}

    assert new != old  # the seed changed the random and ials slices
    # every slice left by the kill is a whole slice of the old run or of the new one; the only
    # slices that may vanish are candidates of a model the new seed retuned (ials): fitted with
    # the old tuning, they are dropped so no stage reads them
    vanished = set(old) - set(killed)
    assert all(key[0] == "candidates" and key[-1] == "ials" for key in vanished), vanished
    for key, value in killed.items():
        assert value in (old.get(key), new.get(key)), key
    for name, data in killed_reports.items():
        assert data in (old_reports[name], new_reports[name]), name
