"""One contract, every generator: the shared behaviour of ``recommend`` (template method)."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from candidate_fixtures import ITEMS, UIDS, train_data

from recsys.candidates import GENERATORS, make_generator
from recsys.candidates.base import CandidateGenerator
from recsys.errors import ConfigError

# small, fast settings; every generator of the registry must appear here
FAST = {
    "random": {}, "mostpop": {}, "decaypop": {"hours": 1.0}, "history": {},
    "itemknn": {"k": 3}, "ials": {"factors": 4, "iterations": 3},
    "bpr": {"factors": 4, "iterations": 5}, "audio": {"profile_items": 3},
    # the continuation generators exclude seen items by default: with them, exclude_seen's test
    # below could not tell that the option matters
    "artist": {"exclude_seen": False}, "album": {"exclude_seen": False},
    # every fixture item counts as fresh (the fixture's timestamps are seconds apart)
    "fresh": {"exclude_seen": False, "max_age_days": 1e6, "profile_items": 3},
    "itemknn_unseen": {"k": 3, "exclude_seen": False},
    "ials_unseen": {"factors": 4, "iterations": 3, "exclude_seen": False},
    "bpr_unseen": {"factors": 4, "iterations": 5, "exclude_seen": False},
    "audio_unseen": {"profile_items": 3, "exclude_seen": False},
}  # fmt: skip
UNKNOWN_UID = 999


def pairs(rows) -> set[tuple[int, int]]:
    """(uid, item_id) pairs of a frame or of Recommendations."""
    return set(zip(np.asarray(rows.uid).tolist(), np.asarray(rows.item_id).tolist(), strict=True))


@functools.cache
def _fitted(name: str, seed: int) -> CandidateGenerator:
    """One fit per (generator, seed), shared by the read-only tests below."""
    return make_generator(name, seed=seed, params=FAST[name]).fit(train_data())


def test_every_generator_is_covered():
    assert set(FAST) == set(GENERATORS)


@pytest.mark.parametrize("name", list(GENERATORS))
class TestGeneratorContract:
    def fitted(self, name: str, seed: int = 7) -> CandidateGenerator:
        return _fitted(name, seed)

    def frame(self, name: str, n: int = 4, uids=UIDS) -> pd.DataFrame:
        recs = self.fitted(name).recommend(np.asarray(uids), n)
        return pd.DataFrame({"uid": recs.uid, "item_id": recs.item_id, "score": recs.score,
                             "rank": recs.ranks()})  # fmt: skip

    def test_shapes_and_types(self, name):
        recs = self.fitted(name).recommend(UIDS, 4)
        assert len(recs.uid) == len(recs.item_id) == len(recs.score) == len(recs.ranks()) > 0
        assert recs.uid.dtype == np.uint32 and recs.item_id.dtype == np.uint32
        assert np.isfinite(recs.score).all()
        assert set(recs.item_id) <= set(ITEMS.tolist())

    def test_users_in_input_order(self, name):
        order = UIDS[::-1]
        df = self.frame(name, uids=order)
        seen = df["uid"].drop_duplicates().tolist()
        assert seen == [u for u in order.tolist() if u in seen]

    def test_no_duplicate_items_per_user(self, name):
        df = self.frame(name, n=7)
        assert not df.duplicated(["uid", "item_id"]).any()

    def test_top_n_bound(self, name):
        for n in (1, 3, 50):
            counts = self.frame(name, n=n).groupby("uid").size()
            assert counts.max() <= min(n, len(ITEMS))

    def test_ranks_are_1_to_count(self, name):
        df = self.frame(name, n=5)
        for _, user in df.groupby("uid", sort=False):
            assert user["rank"].tolist() == list(range(1, len(user) + 1))

    def test_scores_non_increasing_and_ties_by_item_id(self, name):
        df = self.frame(name, n=7)
        for _, user in df.groupby("uid", sort=False):
            scores, items = user["score"].to_numpy(), user["item_id"].to_numpy()
            assert (np.diff(scores) <= 0).all()
            tied = np.diff(scores) == 0
            assert (np.diff(items.astype(np.int64))[tied] > 0).all()

    def test_deterministic_for_a_seed(self, name):
        a = make_generator(name, seed=3, params=FAST[name]).fit(train_data()).recommend(UIDS, 5)
        b = make_generator(name, seed=3, params=FAST[name]).fit(train_data()).recommend(UIDS, 5)
        np.testing.assert_array_equal(a.item_id, b.item_id)
        np.testing.assert_array_equal(a.score, b.score)

    def test_a_users_list_does_not_depend_on_the_batch(self, name):
        model = self.fitted(name)
        alone = model.recommend(UIDS[2:3], 5)
        batch = model.recommend(UIDS, 5)
        np.testing.assert_array_equal(alone.item_id, batch.item_id[batch.uid == UIDS[2]])

    def test_unknown_users(self, name):
        model = self.fitted(name)
        recs = model.recommend(np.array([UNKNOWN_UID, UIDS[0]]), 3)
        unknown_rows = int((recs.uid == UNKNOWN_UID).sum())
        if model.personalised:
            assert unknown_rows == 0  # documented: personalised generators skip unknown users
        else:
            assert unknown_rows == 3  # non-personalised ones serve them like anyone else
        assert (recs.uid == UIDS[0]).sum() > 0

    @pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10"])
    def test_bad_n(self, name, bad):
        with pytest.raises(ConfigError, match="positive integer"):
            self.fitted(name).recommend(UIDS, bad)

    def test_no_dense_user_or_item_square_matrix(self, name):
        data = train_data()
        n_users, n_items = len(data.users), len(data.items)
        model = make_generator(name, seed=1, params=FAST[name]).fit(data)
        for attr, value in vars(model).items():
            if isinstance(value, np.ndarray) and value.ndim == 2:
                assert value.shape not in {(n_users, n_items), (n_items, n_items)}, attr
            if sp.issparse(value):
                assert value.format in {"csr", "csc", "coo"}, attr
        if name == "itemknn":
            assert sp.issparse(model.similarity) and model.similarity.shape == (n_items, n_items)
            assert np.diff(model.similarity.indptr).max() <= FAST[name]["k"]
        if name == "history":
            assert sp.issparse(model.scores)


def test_unknown_parameter_is_an_error():
    with pytest.raises(ConfigError, match="Known parameters: exclude_seen, half_life_days, k"):
        make_generator("itemknn", seed=1, params={"neighbours": 5})


def test_unknown_model_lists_valid_names():
    with pytest.raises(ConfigError, match="Valid names: random, mostpop"):
        make_generator("sasrec", seed=1)


def test_recommend_before_fit_is_an_error():
    with pytest.raises(ConfigError, match="not fitted"):
        make_generator("mostpop", seed=1).recommend(UIDS, 3)


@pytest.mark.parametrize("name", [n for n, cls in GENERATORS.items() if "exclude_seen" in cls.defaults])
def test_exclude_seen_drops_the_users_own_items(name):
    data = train_data()
    params = {**FAST[name], "exclude_seen": True}
    recs = make_generator(name, seed=7, params=params).fit(data).recommend(UIDS, 7)
    own = pairs(data.interactions[data.interactions["target_events"] > 0])
    got = pairs(recs)
    assert got and not (got & own)
    assert pairs(_fitted(name, 7).recommend(UIDS, 7)) & own  # the option matters here


# ---- a case a learned model must get right --------------------------------------------------
# Two blocks: users 1-50 consume items 100-109, users 51-100 items 200-209 (each user 7 of them).
# A new user of the first block consumed 100-104: every unseen item it should get is 105-109.
# Rank-2 data: two factors describe it (more let iALS fit each user's exact 7 items instead)
LEARNED = {"itemknn": {"k": 20}, "ials": {"factors": 2, "iterations": 15},
           "bpr": {"factors": 2, "iterations": 200, "learning_rate": 0.05}}
PROBE = 999


def block_data():
    from recsys.candidates.data import TrainData

    rng = np.random.default_rng(5)
    rows = []
    for uid in range(1, 101):
        block = 100 if uid <= 50 else 200
        rows += [(uid, int(block + i)) for i in rng.choice(10, size=7, replace=False)]
    rows += [(PROBE, 100 + i) for i in range(5)]
    frame = pd.DataFrame(rows, columns=["uid", "item_id"])
    frame["target_events"] = 2
    frame["last_target_ts"] = 1_000 + np.arange(len(frame))
    frame["is_disliked"] = 0
    events = pd.DataFrame({"uid": frame["uid"], "item_id": frame["item_id"],
                           "timestamp": frame["last_target_ts"]})
    return TrainData.from_frames(frame, history_end_ts=10_000, events=events)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("name", list(LEARNED))
def test_a_learned_model_recommends_the_users_own_block(name, seed):
    """A generator that ranks junk (or its blocks at random) fails here, whatever the seed."""
    params = {**LEARNED[name], "exclude_seen": True}
    recs = make_generator(name, seed=seed, params=params).fit(block_data()).recommend(
        np.array([PROBE], dtype=np.uint32), 5)
    assert sorted(recs.item_id.tolist()) == [105, 106, 107, 108, 109]


@pytest.mark.parametrize("name", [n for n in GENERATORS if n.endswith("_unseen")])
def test_an_unseen_variant_is_its_model_without_the_users_own_items(name):
    """``<model>_unseen`` = ``<model>`` with exclude_seen on: the same items, the same scores."""
    base = name.removesuffix("_unseen")
    params = {p: v for p, v in FAST[name].items() if p != "exclude_seen"}
    variant = make_generator(name, seed=3, params=params).fit(train_data()).recommend(UIDS, 7)
    plain = make_generator(base, seed=3, params={**params, "exclude_seen": True}).fit(
        train_data()).recommend(UIDS, 7)
    assert make_generator(name, seed=3).params["exclude_seen"] is True
    assert len(variant) and pairs(variant) == pairs(plain)
    np.testing.assert_allclose(variant.score, plain.score)
