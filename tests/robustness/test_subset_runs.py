"""A subset run (``--models``, ``--no-two-stage``) touches only its own slices: after a full
``recsys evaluate`` (with the two-stage model and ials's seed repeats), ``recsys evaluate
--models mostpop --no-two-stage`` leaves every other model's lists and metrics as they were, and
``recsys metrics`` then scores them all. Seed repeats of a seed the config no longer names go,
with their metrics."""

from __future__ import annotations

import duckdb
import pytest
from robust_fixtures import copy_settings, robust_config

pytestmark = pytest.mark.slow


def _slices(settings, table: str) -> dict[str, tuple[int, int]]:
    """model -> (rows, order-free hash) of ``table``'s test rows."""
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute(f"select model, count(*), sum(hash(t)) from {table} as t "
                           "where fold = 'test' group by model").fetchall()
    return {m: (n, h) for m, n, h in rows}


def test_a_subset_run_leaves_the_other_models_valid(two_stage_evaluated, tmp_path):
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline import run_evaluate

    settings = copy_settings(two_stage_evaluated, tmp_path / "w")
    before = {t: _slices(settings, t) for t in ("recommendations", "metrics")}
    assert {"ials@seed41", "ials@seed43", "two_stage"} <= set(before["recommendations"])
    result = run_evaluate(settings, robust_config(), models=["mostpop"], two_stage=False,
                          progress=False)
    assert set(result.metrics["model"]) == {"mostpop"}
    after = {t: _slices(settings, t) for t in ("recommendations", "metrics")}
    for table in after:
        others = {m: v for m, v in before[table].items() if m != "mostpop"}
        assert {m: after[table][m] for m in others} == others, table
    everything = score_and_report(settings, robust_config(), fold="test", progress=False)
    assert {"random", "mostpop", "ials", "two_stage"} <= set(everything.metrics["model"])


def test_repeats_of_seeds_no_longer_configured_go_with_their_metrics(two_stage_evaluated,
                                                                      tmp_path):
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline import run_evaluate

    settings = copy_settings(two_stage_evaluated, tmp_path / "w")
    config = robust_config()
    config["evaluation"]["seed_runs"]["seeds"] = [42, 44]
    run_evaluate(settings, config, models=["ials"], two_stage=False, progress=False)
    for table in ("recommendations", "metrics", "metrics_per_user"):
        models = set(_slices(settings, table))
        assert "ials@seed44" in models and not {"ials@seed41", "ials@seed43"} & models, table
    result = score_and_report(settings, config, fold="test", progress=False)
    assert "two_stage" in set(result.metrics["model"])
