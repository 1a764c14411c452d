"""Python metrics used for tuning, and the grid search."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from candidate_fixtures import eval_targets, make_events, train_data

from recsys.candidates.base import Recommendations
from recsys.candidates.tuning import evaluate, expand_grid, parse_metric, tune_model
from recsys.errors import ConfigError


def test_ndcg_and_recall_by_hand():
    # user 1: targets {a, b, c}; hits at ranks 1 and 3. user 2: targets {d}; no list at all.
    recs = Recommendations(np.array([1, 1, 1]), np.array([10, 99, 30]), np.array([3.0, 2.0, 1.0]))
    targets = pd.DataFrame({"uid": [1, 1, 1, 2, 1], "item_id": [10, 20, 30, 40, 10]})
    m = evaluate(recs, targets, k=10)
    ndcg_1 = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4))
    assert m["ndcg"] == pytest.approx((ndcg_1 + 0) / 2)
    assert m["recall"] == pytest.approx((2 / 3 + 0) / 2)
    m2 = evaluate(recs, targets, k=2)  # only rank 1 counts; ideal over min(|T|, 2) = 2 items
    assert m2["ndcg"] == pytest.approx((1 / (1 + 1 / math.log2(3))) / 2)
    assert m2["recall"] == pytest.approx((1 / 3) / 2)


def test_expand_grid_is_ordered_and_complete():
    assert expand_grid({"b": [1, 2], "a": ["x"]}) == [{"a": "x", "b": 1}, {"a": "x", "b": 2}]
    with pytest.raises(ConfigError, match="non-empty list"):
        expand_grid({"a": 3})


@pytest.mark.parametrize("spec", ["recall", "map@10", "ndcg@0", "ndcg@x"])
def test_bad_metric(spec):
    with pytest.raises(ConfigError, match="ndcg, recall"):
        parse_metric(spec)


def test_tune_model_returns_the_best_trial():
    targets = eval_targets(make_events(), "val", "listen_plus")
    result = tune_model("history", {"half_life_days": [1.0, 30.0]}, train_data(), targets,
                        metric="ndcg@10", seed=0)  # fmt: skip
    assert len(result.trials) == 2
    assert result.value == max(v for _, v in result.trials)
    best_trial = next(p for p, v in result.trials if v == result.value)  # the first best wins
    assert result.params == {**result.best.defaults, **best_trial} == result.best.params
    assert 0.0 < result.value <= 1.0


def test_scoring_only_params_reuse_one_fit(monkeypatch):
    from recsys.candidates.factorization import IALSGenerator

    calls = []
    original = IALSGenerator._fit
    monkeypatch.setattr(IALSGenerator, "_fit", lambda self, data: (calls.append(1), original(self, data)))
    targets = eval_targets(make_events(), "val", "listen_plus")
    grid = {"exclude_seen": [False, True], "alpha": [1.0, 5.0]}
    result = tune_model("ials", grid, train_data(), targets, metric="recall@5", seed=0,
                        base_params={"factors": 4, "iterations": 2})  # fmt: skip
    assert len(result.trials) == 4 and len(calls) == 2  # one fit per alpha
    assert {p["exclude_seen"] for p, _ in result.trials} == {False, True}
