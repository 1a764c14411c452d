"""Python metrics used for tuning, search spaces, and the Optuna search on val."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from candidate_fixtures import eval_targets, make_events, train_data

from recsys.candidates.base import Recommendations
from recsys.candidates.registry import make_generator
from recsys.candidates.tuning import evaluate, tune_model
from recsys.errors import ConfigError
from recsys.pipeline_config import load_config
from recsys.sections.candidates import parse_metric
from recsys.sections.generators import searched_space

# tiny factor models: the property, not the fit quality, is under test
SMALL = {"ials": {"factors": 4}, "bpr": {"factors": 4}}


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


@pytest.mark.parametrize("spec", ["recall", "map@10", "ndcg@0", "ndcg@x"])
def test_bad_metric(spec):
    with pytest.raises(ConfigError, match="ndcg, recall"):
        parse_metric(spec)


@pytest.mark.parametrize(("space", "match"), [
    ({"kk": [1, 2]}, "not a parameter of generator 'itemknn'"),
    ({"k": []}, "non-empty list"),
    ({"k": 5}, "a list of values"),
    ({"k": {"low": 5}}, "needs low and high"),
    ({"k": {"low": 5, "high": 1}}, "low <= high"),
    ({"half_life_days": {"low": 0, "high": 3, "log": True}}, "low > 0 with log"),
    ({"k": {"low": 1, "high": 3, "type": "str"}}, "type must be int or float"),
])  # fmt: skip
def test_bad_search_space_names_the_key(space, match):
    with pytest.raises(ConfigError, match=match):
        searched_space("itemknn", space, {})


def test_explicit_params_are_not_searched():
    assert set(searched_space("itemknn", {"k": [1, 2], "exclude_seen": [False, True]}, {"k": 3})) \
        == {"exclude_seen"}


def test_small_grid_tries_every_point_once():
    targets = eval_targets(make_events(), "val", "listen_plus")
    result = tune_model("history", {"half_life_days": [1.0, 30.0]}, train_data(), targets,
                        metric="ndcg@10", trials=10, seed=0)  # fmt: skip
    assert result.sampler == "grid" and len(result.trials) == 2
    assert sorted(p["half_life_days"] for p, _ in result.trials) == [1.0, 30.0]
    assert result.value == max(v for _, v in result.trials)
    best_trial = next(p for p, v in result.trials if v == result.value)  # the first best wins
    assert result.params == best_trial
    assert 0.0 < result.value <= 1.0


def test_tpe_runs_the_trial_budget_default_first_and_is_seeded():
    targets = eval_targets(make_events(), "val", "listen_plus")
    space = {"half_life_days": {"low": 0.5, "high": 60.0, "log": True}, "drop_disliked": [False, True]}
    runs = [tune_model("history", space, train_data(), targets, metric="ndcg@10", trials=4, seed=s)
            for s in (3, 3, 4)]
    assert runs[0].sampler == "tpe" and len(runs[0].trials) == 4
    first = runs[0].trials[0][0]
    assert (first["half_life_days"], first["drop_disliked"]) == (7.0, True)  # the code defaults
    assert runs[0].trials == runs[1].trials  # same seed, same trials
    assert [p for p, _ in runs[0].trials] != [p for p, _ in runs[2].trials]


MODELS = ["decaypop", "history", "itemknn", "ials", "bpr", "audio"]


@pytest.mark.parametrize("model", MODELS)
def test_tuned_never_loses_on_val_to_the_default_fit(model):
    """The property that tuning cannot make a model worse on the data it was tuned on: the
    default fit (code defaults + fixed params), scored on val, never beats the tuned choice."""
    space = load_config()["candidates"]["tuning"]["search_space"][model]
    data = train_data()
    targets = eval_targets(make_events(), "val", "listen_plus")
    base = SMALL.get(model, {})
    result = tune_model(model, space, data, targets, metric="ndcg@10", trials=3, seed=1,
                        base_params=base)  # fmt: skip
    users = np.unique(targets["uid"].to_numpy()).astype(np.uint32)
    default = make_generator(model, seed=1, params=base).fit(data)
    default_value = evaluate(default.recommend(users, 10), targets, 10)["ndcg"]
    assert result.default_value == pytest.approx(default_value)
    assert result.value >= default_value


def test_scoring_only_params_reuse_one_fit(monkeypatch):
    from recsys.candidates.factorization import IALSGenerator

    calls = []
    original = IALSGenerator._fit
    monkeypatch.setattr(IALSGenerator, "_fit", lambda self, data: (calls.append(1), original(self, data)))
    targets = eval_targets(make_events(), "val", "listen_plus")
    space = {"exclude_seen": [False, True], "alpha": [1.0, 5.0]}
    result = tune_model("ials", space, train_data(), targets, metric="recall@5", trials=10, seed=0,
                        base_params={"factors": 4, "iterations": 2})  # fmt: skip
    assert len(result.trials) == 4 and len(calls) == 2  # one fit per alpha
    assert {p["exclude_seen"] for p, _ in result.trials} == {False, True}


def test_user_local_generator_scores_the_restricted_users_as_on_everything():
    """history reads a user's own rows only: fitted on the sampled users' rows (as tuning does),
    it recommends to them exactly what the fit on every user does."""
    data = train_data()
    users = np.unique(data.interactions["uid"].to_numpy())[::2].astype(np.uint32)
    params = {"half_life_days": 3.0, "drop_disliked": True}
    full = make_generator("history", seed=0, params=params).fit(data).recommend(users, 5)
    restricted = data.restrict_users(users)
    assert set(restricted.interactions["uid"]) == set(users.tolist())
    part = make_generator("history", seed=0, params=params).fit(restricted).recommend(users, 5)
    for a, b in zip(full, part, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("model", ["history", "itemknn"])
def test_result_keeps_the_chosen_points_fit(model):
    targets = eval_targets(make_events(), "val", "listen_plus")
    space = load_config()["candidates"]["tuning"]["search_space"][model]
    data = train_data()
    result = tune_model(model, space, data, targets, metric="ndcg@10", trials=3, seed=2)
    assert result.fitted is not None and result.fitted.params == result.params
    # user-local generators are fitted on the sampled val users alone
    assert (result.fitted.data is data) == (model != "history")
    users = np.unique(targets["uid"].to_numpy()).astype(np.uint32)
    refit = make_generator(model, seed=2, params=result.params).fit(data)
    for a, b in zip(result.fitted.recommend(users, 10), refit.recommend(users, 10), strict=True):
        np.testing.assert_array_equal(a, b)
