"""Same inputs, same numbers: whatever ran on a warehouse before, a run of config F gives the
metrics a fresh warehouse gives for F (to 1e-12). Three command orders end in the same config:

* ``full``: ``recsys evaluate`` with more generators and a ranker merging seven of them first
  (``two_stage_evaluated``);
* ``extra``: candidates of a generator F does not name (val and test) fitted first, then
  ``recsys evaluate --models mostpop --no-two-stage``;
* ``by_hand``: after the full run, the candidate mart rebuilt by hand with every model of
  ``candidates`` in it (``--vars '{ranker_models: null}'``).
"""

from __future__ import annotations

import pandas as pd
import pytest
from robust_fixtures import copy_settings, robust_config

pytestmark = pytest.mark.slow

F_MODELS = ["mostpop", "ials"]
KEYS = ["fold", "target", "model", "convention", "subset", "metric", "k"]


def _config():
    """F: two generators, and the ranker merges only those (the full run's ranker merges seven);
    one tuning trial (the full run's ten give other tuned values: tuned again here)."""
    config = robust_config(models=F_MODELS)
    config["ranker"]["models"] = list(F_MODELS)
    config["candidates"]["tuning"]["trials"] = 1
    return config


def _evaluate(settings, config, **kwargs):
    from recsys.pipeline import run_evaluate

    return run_evaluate(settings, config, fold="test", progress=False, **kwargs)


def _metrics(settings) -> pd.DataFrame:
    frame = pd.read_csv(settings.reports_dir / "metrics.csv")
    return frame.sort_values(KEYS).reset_index(drop=True)


@pytest.fixture(scope="module")
def fresh(tiny_warehouse, tmp_path_factory):
    settings = copy_settings(tiny_warehouse, tmp_path_factory.mktemp("same_fresh"))
    _evaluate(settings, _config())
    return _metrics(settings)


def _full_first(settings):
    return None  # the copy already holds the full run (random, mostpop, ials, two_stage)


def _extra_first(settings):
    from recsys.candidates import run_candidates

    run_candidates(settings, robust_config(), folds=["val", "test"], targets=["listen_plus", "like"],
                   models=["random"], progress=False)
    _evaluate(settings, _config(), models=["mostpop"], two_stage=False)


def _by_hand_first(settings):
    from recsys.dbt_runner import build_candidate_features

    build_candidate_features(settings, vars={"ranker_models": None})  # every model's candidates


@pytest.mark.parametrize("before", [_full_first, _extra_first, _by_hand_first],
                         ids=["full", "extra", "by_hand"])
def test_a_run_after_other_commands_gives_the_fresh_numbers(before, fresh, tiny_warehouse,
                                                            two_stage_evaluated, tmp_path):
    start = tiny_warehouse if before is _extra_first else two_stage_evaluated
    settings = copy_settings(start, tmp_path / "w")
    before(settings)
    _evaluate(settings, _config())
    got = _metrics(settings)
    assert set(got["model"]) == {*F_MODELS, "two_stage", "two_stage_untuned"}
    assert got[KEYS].equals(fresh[KEYS])
    assert got["users"].equals(fresh["users"])
    diff = (got["value"] - fresh["value"]).abs().max()
    assert diff <= 1e-12, got.loc[(got["value"] - fresh["value"]).abs() > 1e-12]
