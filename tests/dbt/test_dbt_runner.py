"""recsys.dbt_runner and `recsys build`: clear errors naming the failing dbt nodes, clean environment."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from dbt_fixtures import write_synthetic_yambda
from dbt_helpers import dbt_paths, tiny_settings

from recsys.cli import main
from recsys.dbt_runner import DbtRunError, build, run_dbt


def test_missing_data_is_reported_before_dbt_runs(tmp_path):
    settings = tiny_settings(tmp_path / "nowhere", tmp_path)
    with pytest.raises(DbtRunError, match=r"recsys generate --size tiny"):
        build(settings)
    assert not settings.warehouse.exists()


@pytest.mark.slow
def test_a_failing_dbt_test_is_named_and_the_environment_restored(tmp_path):
    data = write_synthetic_yambda(tmp_path / "data")
    likes = pq.read_table(data / "flat/tiny/likes.parquet")
    bad = likes.set_column(3, "is_organic", pa.array([2] * likes.num_rows, pa.uint8()))
    pq.write_table(bad, data / "flat/tiny/likes.parquet")
    settings = tiny_settings(data, tmp_path)
    before = os.environ.get("RECSYS_WAREHOUSE")
    with pytest.raises(DbtRunError) as info:
        build(settings, select=["stg_likes"], **dbt_paths(tmp_path))
    assert any("accepted_values_stg_likes_is_organic" in name for name in info.value.failed)
    assert "accepted_values_stg_likes_is_organic" in str(info.value)
    assert os.environ.get("RECSYS_WAREHOUSE") == before


@pytest.mark.slow
def test_a_project_error_is_reported(tmp_path):
    settings = tiny_settings(write_synthetic_yambda(tmp_path / "data"), tmp_path)
    with pytest.raises(DbtRunError, match="n_folds must be >= 1"):
        run_dbt(settings, ["run", "--select", "folds", "--vars", "{n_folds: 0}"], **dbt_paths(tmp_path))


def test_build_command_turns_errors_into_a_message(tmp_path):
    result = CliRunner().invoke(
        main, ["build", "-q", "--data-dir", str(tmp_path / "nowhere"), "--size", "tiny",
               "--warehouse", str(tmp_path / "w.duckdb")],
    )
    assert result.exit_code == 1
    assert "dataset files" in result.output and "Traceback" not in result.output


def test_candidate_features_alone_is_built_in_place(monkeypatch, tmp_path):
    """`recsys build --select candidate_features` copies no warehouse; other selections are staged.
    (A warehouse of its own: the default one may be a developer's, locked by a run.)"""
    from recsys import dbt_runner
    from recsys.config import Settings

    calls = []

    def fake_run_dbt(settings, args, **kwargs):
        calls.append(kwargs.get("staged", True))
        return dbt_runner.DbtRunSummary(command=list(args), statuses={"model x": "success"})

    monkeypatch.setattr(dbt_runner, "run_dbt", fake_run_dbt)
    monkeypatch.setattr(dbt_runner, "check_data_values", lambda *_: [])
    monkeypatch.setattr(dbt_runner, "_require_input_files", lambda *_: None)
    settings = Settings(warehouse=tmp_path / "w.duckdb", temp_dir=tmp_path / "tmp")
    dbt_runner.build(settings, select=["candidate_features"])
    dbt_runner.build(settings, select=["eval_targets"])
    dbt_runner.build(settings)
    assert calls == [False, True, True]


def test_the_progress_total_grows_with_nodes_dbt_did_not_count():
    """dbt's ConcurrencyLine node_count leaves out unit tests, which still finish: the bar never
    reads 127/117."""
    import io
    from types import SimpleNamespace as NS

    from recsys.dbt_runner import _progress_callback
    from recsys.progress import LineProgress

    out = io.StringIO()
    bar = LineProgress(desc="dbt build", unit="node", file=out)
    callback = _progress_callback(bar)
    callback(NS(info=NS(name="ConcurrencyLine"), data=NS(node_count=2)))
    for name in ("stg_listens", "folds", "unit_test_folds"):
        callback(NS(info=NS(name="NodeFinished"), data=NS(node_info=NS(node_name=name))))
    bar.close()
    assert (bar.n, bar.total) == (3, 3)
    assert out.getvalue().startswith("dbt build: 3/3 node in ")


def test_the_build_reads_dbt_artifacts_where_dbt_writes_them(monkeypatch, tmp_path):
    """recsys bench points dbt at a folder per size (DBT_TARGET_PATH): the build records the
    manifest from there, not from dbt_project/target (absent on a clean clone)."""
    from recsys.config import DBT_PROJECT_DIR
    from recsys.dbt_runner import artifacts_dir

    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)
    assert artifacts_dir() == (DBT_PROJECT_DIR / "target").resolve()
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "dbt-target"))
    assert artifacts_dir() == tmp_path / "dbt-target"
    monkeypatch.setenv("DBT_TARGET_PATH", "elsewhere")  # relative: to the project, as dbt reads it
    assert artifacts_dir() == (DBT_PROJECT_DIR / "elsewhere").resolve()
    assert artifacts_dir(tmp_path / "given") == tmp_path / "given"
