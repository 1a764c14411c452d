import numpy as np
import pytest

from recsys.ranking.model import LightGBMRanker, Ranker, RankerError, top_k_per_user
from recsys.sections.ranker import RankerConfig

PARAMS = RankerConfig(
    params={"min_data_in_leaf": 1, "min_data_in_bin": 1, "learning_rate": 0.3, "num_leaves": 4}
).lightgbm_params()


def separable(n_users=20, per_user=5, seed=0):
    """Feature 0 = 1 exactly on the positives (one per user); feature 1 is noise."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n_users, per_user), dtype=np.uint8)
    labels[np.arange(n_users), rng.integers(0, per_user, n_users)] = 1
    labels = labels.ravel()
    features = np.column_stack([labels.astype(np.float32), rng.random(len(labels), dtype=np.float32)])
    groups = np.full(n_users, per_user)
    return features, labels, groups


def fitted(rounds=10):
    features, labels, groups = separable()
    ranker = LightGBMRanker(PARAMS, ["signal", "noise"], num_boost_round=rounds, early_stopping_rounds=3)
    return ranker.fit(features, labels, groups, valid=separable(5, seed=1))


def test_lightgbm_ranker_satisfies_the_protocol():
    assert isinstance(LightGBMRanker(PARAMS, ["a"]), Ranker)


def test_predict_gives_one_score_per_row():
    ranker = fitted()
    features, _, _ = separable(7, per_user=3, seed=2)
    scores = ranker.predict(features)
    assert scores.shape == (21,)
    assert np.isfinite(scores).all()


def test_perfect_feature_puts_positives_first():
    ranker = fitted()
    features, labels, groups = separable(10, seed=3)
    scores = ranker.predict(features).reshape(10, -1)
    top = scores.argmax(axis=1)
    assert (labels.reshape(10, -1)[np.arange(10), top] == 1).all()
    assert ranker.feature_importance()["signal"] > ranker.feature_importance()["noise"]


def test_training_is_deterministic():
    features, _, _ = separable(6, seed=4)
    assert np.array_equal(fitted().predict(features), fitted().predict(features))


def test_save_and_load_round_trip(tmp_path):
    ranker = fitted()
    ranker.save(tmp_path / "m", {"target": "like"})
    loaded, meta = LightGBMRanker.load(tmp_path / "m")
    features, _, _ = separable(6, seed=5)
    assert np.array_equal(loaded.predict(features), ranker.predict(features))
    assert meta["feature_names"] == ["signal", "noise"] and meta["target"] == "like"
    assert meta["params"]["seed"] == 42 and meta["params"]["deterministic"] is True


def test_bad_inputs_raise_clear_errors(tmp_path):
    features, labels, groups = separable()
    ranker = LightGBMRanker(PARAMS, ["signal", "noise"])
    with pytest.raises(RankerError, match="not trained"):
        ranker.predict(features)
    with pytest.raises(RankerError, match="Group sizes"):
        ranker.fit(features, labels, groups[:-1])
    with pytest.raises(RankerError, match="columns"):
        ranker.fit(features[:, :1], labels, groups)
    with pytest.raises(RankerError, match="train-ranker"):
        LightGBMRanker.load(tmp_path / "absent")


def test_top_k_breaks_score_ties_by_item_id():
    uids = np.array([1, 1, 1, 1, 2, 2])
    items = np.array([9, 3, 5, 4, 8, 7])
    scores = np.array([0.5, 0.5, 0.9, 0.1, 0.2, 0.2])
    order, ranks = top_k_per_user(uids, items, scores, k=3)
    assert items[order].tolist() == [5, 3, 9, 7, 8]
    assert ranks.tolist() == [1, 2, 3, 1, 2]
