"""An incremental ``recsys build``: nothing changed, no dbt; one model's file changed, that
model and what depends on it (dbt's ``state:modified+``); the inputs changed, everything; a
rebuild leaves a file of a fresh build's size."""

from __future__ import annotations

import shutil

import duckdb
import pyarrow.parquet as pq
import pytest
from dbt_helpers import copy_warehouse, dbt_paths

from recsys import dbt_runner, state
from recsys.config import DBT_PROJECT_DIR
from recsys.pipeline_config import ValidationConfig


@pytest.fixture
def dbt_calls(monkeypatch) -> list[list[str]]:
    """The arguments of every dbt invocation ``dbt_runner.build`` makes."""
    calls: list[list[str]] = []
    real = dbt_runner.run_dbt

    def spy(settings, args, **kwargs):
        calls.append(list(args))
        return real(settings, args, **kwargs)

    monkeypatch.setattr(dbt_runner, "run_dbt", spy)
    return calls


def test_a_build_with_nothing_changed_runs_no_dbt(tiny_warehouse, tmp_path, dbt_calls):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table candidates (x integer)")  # a Python table: stays
    summary = dbt_runner.build(settings, **dbt_paths(tmp_path))
    assert summary.reused and dbt_calls == [] and summary.dropped == []
    assert "are those of the last build" in summary.plan.reason
    with duckdb.connect(str(settings.warehouse)) as con:
        assert con.execute("select count(*) from candidates").fetchone() == (0,)


@pytest.mark.parametrize("change, reason", [
    ({"vars": {"n_folds": 3}}, "the input files, dbt vars or schema version changed"),
    ({"limits": ValidationConfig(max_duplicate_share=0.5)}, "the validation bounds changed"),
])
def test_a_changed_input_plans_a_build(tiny_warehouse, change, reason):
    assert dbt_runner.plan_build(tiny_warehouse).action == "reuse"
    plan = dbt_runner.plan_build(tiny_warehouse, **change)
    assert plan.action != "reuse" and plan.reason.startswith(reason)


def test_a_new_schema_version_plans_a_full_build(tiny_warehouse, monkeypatch):
    monkeypatch.setattr(state, "SCHEMA_VERSION", state.SCHEMA_VERSION + 1)
    plan = dbt_runner.plan_build(tiny_warehouse)
    assert (plan.action, plan.reason) == ("full", "the input files, dbt vars or schema version changed")


def test_changed_input_files_plan_a_full_build(tiny_warehouse, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(tiny_warehouse.data_dir, data)
    assert dbt_runner.plan_build(tiny_warehouse.with_(data_dir=data)).action == "reuse"  # same bytes
    likes = data / "flat" / "tiny" / "likes.parquet"
    pq.write_table(pq.read_table(likes).slice(1), likes)
    plan = dbt_runner.plan_build(tiny_warehouse.with_(data_dir=data))
    assert (plan.action, plan.reason) == ("full", "the input files, dbt vars or schema version changed")


def test_a_dropped_mart_plans_a_full_build(tiny_warehouse, tmp_path):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table item_features")
    plan = dbt_runner.plan_build(settings)
    assert plan.action == "full" and "item_features" in plan.reason


def _project_copy(tmp_path, monkeypatch):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(dbt_runner, "DBT_PROJECT_DIR", project)
    return project


def test_a_changed_model_rebuilds_it_and_what_depends_on_it(tiny_warehouse, tmp_path, monkeypatch,
                                                            dbt_calls):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    project = _project_copy(tmp_path, monkeypatch)
    (project / "README.md").write_text("not part of the build\n")
    assert dbt_runner.plan_build(settings).action == "reuse"
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table candidates (x integer)")
        before = state.current_build(con)
    model = project / "models" / "marts" / "daily_organic_ratios.sql"
    model.write_text(model.read_text() + "\n-- edited\n")

    summary = dbt_runner.build(settings, **dbt_paths(tmp_path))
    assert summary.plan.action == "modified"
    assert "state:modified+" in dbt_calls[-1]
    built = {name for name, status in summary.statuses.items() if name.startswith("model ")}
    assert built == {"model daily_organic_ratios"}
    assert any(name.startswith("test ") and "daily_organic_ratios" in name for name in summary.statuses)
    assert "candidates" in summary.dropped  # computed before a mart changed
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert state.current_build(con) != before

    calls = len(dbt_calls)
    assert dbt_runner.build(settings, **dbt_paths(tmp_path)).reused and len(dbt_calls) == calls


def test_a_change_dbt_finds_no_model_in_keeps_the_python_tables(tiny_warehouse, tmp_path,
                                                                monkeypatch):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    project = _project_copy(tmp_path, monkeypatch)
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("create table candidates (x integer)")
        before = state.current_build(con)
    (project / "macros" / "unused_by_any_model.sql").write_text(
        "{% macro unused_by_any_model() %}1{% endmacro %}\n")

    summary = dbt_runner.build(settings, **dbt_paths(tmp_path))
    assert summary.plan.action == "modified" and summary.statuses == {}
    assert summary.dropped == []
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert state.current_build(con) == before
        assert con.execute("select count(*) from candidates").fetchone() == (0,)
    assert dbt_runner.plan_build(settings).action == "reuse"  # the project's files recorded


@pytest.mark.slow
def test_full_builds_everything(tiny_warehouse, tmp_path, dbt_calls):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    summary = dbt_runner.build(settings, full=True, **dbt_paths(tmp_path))
    assert summary.plan.action == "full" and "model folds" in summary.statuses
    assert dbt_calls == [["build"]]
    # every mart written again over a copy of the old file: its freed blocks are not kept
    assert settings.warehouse.stat().st_size <= 1.1 * tiny_warehouse.warehouse.stat().st_size


@pytest.mark.slow
def test_a_build_of_other_folds_drops_the_old_candidates_before_dbt_reads_them(tiny_warehouse,
                                                                              tmp_path):
    """`candidate_features` reads `candidates`: rows of a fold the new build does not have
    would fail its relationships test, so they go before dbt runs."""
    from recsys.tables import create

    settings = copy_warehouse(tiny_warehouse, tmp_path)
    with duckdb.connect(str(settings.warehouse)) as con:
        create(con, "candidates")
        con.execute("insert into candidates select 'val_3', 'listen_plus', 'mostpop', uid, "
                    "item_id, 1, 1.0 from train_interactions limit 5")
    summary = dbt_runner.build(settings, vars={"n_folds": 2}, **dbt_paths(tmp_path))
    assert summary.plan.action == "full" and "candidates" in summary.dropped
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select list(fold order by fold) from folds").fetchone() == (
            ["test", "val"],)
