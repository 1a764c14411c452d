"""Stale state: a rebuild on other input files drops every table Python computed from the old
ones, so nothing of the old data is scored or reused (a rebuild on the same files keeps them:
test_idempotent_reruns.py)."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from robust_fixtures import copy_settings

from recsys.errors import WarehouseError
from recsys.tables import PYTHON_TABLES

pytestmark = pytest.mark.slow


def tables(settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}


def test_rebuild_on_other_data_drops_what_python_computed_from_the_old(evaluated, tmp_path):
    from recsys.data.generate import generate_dataset
    from recsys.dbt_runner import build
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline_config import load_config

    source, _ = evaluated
    settings = copy_settings(source, tmp_path / "a")
    assert {"candidates", "recommendations", "metrics", "candidate_params"} <= tables(settings)
    # (a rebuild on the same files keeps them: test_idempotent_reruns.py)
    other = tmp_path / "b"
    generate_dataset(other, "tiny", seed=7)
    moved = settings.with_(data_dir=other)
    summary = build(moved, target_path=tmp_path / "t", log_path=tmp_path / "l")
    assert {"candidates", "recommendations", "metrics", "candidate_params"} <= set(summary.dropped)
    assert not tables(moved) & set(PYTHON_TABLES) - {"slice_state"}
    with duckdb.connect(str(moved.warehouse), read_only=True) as con:  # only the new mart's vars
        assert con.execute("select distinct table_name from slice_state").fetchall() == [
            ("candidate_features",)]
    with pytest.raises(WarehouseError):  # nothing of data A is scored as if it were data B's
        score_and_report(moved, load_config(), fold="test", progress=False)


def test_recommendations_of_refitted_candidates_are_not_scored_until_written_again(evaluated, tmp_path):
    """Within one build: a generator refitted after its recommendations were written leaves them
    stale; `recsys metrics` refuses them (naming the slice) until `recsys recommend` writes them
    again. Lists written by other code (no fingerprint) are scored as they are."""
    from robust_fixtures import robust_config

    from recsys.candidates import run_candidates
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline import write_generator_recommendations

    source, _ = evaluated
    settings = copy_settings(source, tmp_path / "a")
    config = robust_config(seed=7)  # another seed: mostpop's test slice gets another fingerprint
    run_candidates(settings, config, folds=["test"], targets=["listen_plus"], models=["mostpop"],
                   progress=False)
    with pytest.raises(WarehouseError, match="listen_plus/mostpop") as error:
        score_and_report(settings, config, fold="test", progress=False)
    assert "recsys recommend" in str(error.value) and "like/mostpop" not in str(error.value)
    write_generator_recommendations(settings, config, fold="test", models=["mostpop"])
    with duckdb.connect(str(settings.warehouse)) as con:  # a user's own list: no fingerprint
        con.execute("insert into recommendations select fold, target, 'mine', uid, item_id, rank, "
                    "score from recommendations where model = 'random'")
    result = score_and_report(settings, config, fold="test", progress=False)
    assert {"mostpop", "mine"} <= set(result.metrics["model"])


def _changed_copy(dataset, root):
    """A copy of the dataset whose likes lost their last row (other footers: other files)."""
    import pyarrow.parquet as pq

    shutil.copytree(dataset, root)
    likes = root / "flat" / "tiny" / "likes.parquet"
    table = pq.read_table(likes)
    pq.write_table(table.slice(0, table.num_rows - 1), likes)
    return root


def _commands():
    """Every library entry point of a command that works on a built warehouse."""
    from robust_fixtures import robust_config

    from recsys import ranking
    from recsys.candidates import run_candidates
    from recsys.candidates.tuned import ensure_tuned
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline import run_evaluate, train_ranker_stage, write_generator_recommendations

    config = robust_config()
    return {
        "evaluate": lambda s: run_evaluate(s, config, two_stage=False, progress=False),
        "metrics": lambda s: score_and_report(s, config, fold="test", progress=False),
        "tune": lambda s: ensure_tuned(s, config, targets=["like"], models=["ials"], progress=False),
        "candidates": lambda s: run_candidates(s, config, folds=["test"], targets=["like"],
                                               models=["mostpop"], progress=False),
        "recommend": lambda s: write_generator_recommendations(s, config, fold="test",
                                                               models=["mostpop"]),
        "train-ranker": lambda s: train_ranker_stage(s, config, progress=False),
        "rank": lambda s: ranking.rank(s, config, fold="test", progress=False),
    }


@pytest.mark.parametrize("change", ["size", "files"])
def test_every_command_refuses_a_warehouse_built_from_other_data(change, evaluated, tiny_dataset,
                                                                 tmp_path):
    from robust_fixtures import table_digests

    source, _ = evaluated
    settings = copy_settings(source, tmp_path / "a")
    before = table_digests(settings.warehouse)
    if change == "size":
        other = settings.with_(size="small")
        expected = "size tiny, not small"
    else:
        other = settings.with_(data_dir=_changed_copy(tiny_dataset, tmp_path / "changed"))
        expected = "input files that have changed since"
    for name, command in _commands().items():
        with pytest.raises(WarehouseError, match="Run `recsys build`") as error:
            command(other)
        assert expected in str(error.value) and str(other.data_dir) in str(error.value), name
        assert table_digests(settings.warehouse) == before, name  # nothing was written
    _commands()["metrics"](settings)  # the settings of the build still work
