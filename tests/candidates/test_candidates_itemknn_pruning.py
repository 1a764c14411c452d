"""Pruning before the expensive fits: recent items per user (ItemKNN, iALS, BPR), items with few users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.candidates import TrainData, make_generator
from recsys.candidates.itemknn import item_similarity, pruned_counts
from recsys.errors import ConfigError

CUT = 1_000
A, B, C, D = 201, 202, 203, 204
# (uid, item_id, target_events, last_target_ts)
ROWS = [
    (1, A, 1, 10), (1, B, 2, 30), (1, C, 1, 20),  # recent 2: B (30), C (20)
    (2, A, 1, 5), (2, B, 1, 5), (2, D, 4, 1),  # recent 2: A and B tie at 5, D is oldest
    (3, C, 3, 7),
]


def data() -> TrainData:
    frame = pd.DataFrame(ROWS, columns=["uid", "item_id", "target_events", "last_target_ts"])
    events = pd.DataFrame({"uid": frame["uid"], "item_id": frame["item_id"],
                           "timestamp": frame["last_target_ts"]})  # fmt: skip
    return TrainData.from_frames(frame, CUT, events=events)


def kept(counts, d: TrainData) -> dict[tuple[int, int], float]:
    coo = counts.tocoo()
    uids, items = d.users.to_external(coo.row), d.items.to_external(coo.col)
    return {(int(u), int(i)): float(v) for u, i, v in zip(uids, items, coo.data, strict=True)}


def test_no_pruning_keeps_every_positive_row():
    d = data()
    assert kept(pruned_counts(d), d) == {(u, i): float(n) for u, i, n, _ in ROWS}


def test_recent_items_keeps_each_users_newest_items_ties_by_item_id():
    d = data()
    assert kept(pruned_counts(d, recent_items=2), d) == {
        (1, B): 2.0, (1, C): 1.0, (2, A): 1.0, (2, B): 1.0, (3, C): 3.0,
    }  # fmt: skip


def test_min_item_users_drops_items_with_too_few_users_after_the_recency_cut():
    d = data()
    # after recent_items=2: A has 1 user (2), B 2 users, C 2 users, D none
    assert kept(pruned_counts(d, recent_items=2, min_item_users=2), d) == {
        (1, B): 2.0, (1, C): 1.0, (2, B): 1.0, (3, C): 3.0,
    }  # fmt: skip


def test_similarity_on_the_pruned_counts_is_the_hand_computed_cosine():
    d = data()
    sim = item_similarity(d, k=10, recent_items=2, min_item_users=2).toarray()
    a, b, c, dd = d.items.to_internal(np.array([A, B, C, D]))
    # B = (u1: 2, u2: 1), C = (u1: 1, u3: 3): cos = 2 / (sqrt(5) * sqrt(10))
    assert sim[b, c] == pytest.approx(2 / (np.sqrt(5) * np.sqrt(10)), rel=1e-6)
    assert sim[c, b] == pytest.approx(sim[b, c])
    for pruned in (a, dd):  # items left out have neither neighbours nor appear as one
        assert not sim[pruned].any() and not sim[:, pruned].any()
    full = item_similarity(d, k=10).toarray()
    assert full[a, dd] > 0  # without pruning, user 2 links A and D


def test_pruning_changes_recommendations_only_through_the_similarity():
    d = data()
    full = make_generator("itemknn", seed=1, params={"k": 10, "recent_items": 0}).fit(d)
    pruned = make_generator("itemknn", seed=1, params={"k": 10, "recent_items": 2}).fit(d)
    u2 = np.array([2], dtype=np.uint32)
    assert D in full.recommend(u2, 4).item_id.tolist()
    # D (user 2's oldest item, user 2's only) is no longer anyone's neighbour
    assert D not in pruned.recommend(u2, 4).item_id.tolist()


@pytest.mark.parametrize("params", [{"recent_items": -1}, {"min_item_users": 0}, {"k": 0}])
def test_bad_pruning_values_are_clear_errors(params):
    with pytest.raises(ConfigError, match="recent_items >= 0"):
        make_generator("itemknn", seed=1, params=params).fit(data())


def test_recent_positive_rows_newest_first_ties_by_item_id():
    d = data()
    rows = d.recent_positive_rows(2)
    got = list(zip(d.column("uid")[rows].tolist(), d.column("item_id")[rows].tolist(), strict=True))
    assert got == [(1, B), (1, C), (2, A), (2, B), (3, C)]
    assert sorted(d.recent_positive_rows(0).tolist()) == list(range(len(ROWS)))


@pytest.mark.parametrize("name", ["ials", "bpr"])
def test_factor_models_fit_on_the_recent_items_only(name):
    """recent_items=2 gives the model fitted on data whose older rows have no target events."""
    d = data()
    params = {"factors": 4, "iterations": 3}
    pruned = make_generator(name, seed=3, params={**params, "recent_items": 2}).fit(d)
    frame = pd.DataFrame(ROWS, columns=["uid", "item_id", "target_events", "last_target_ts"])
    frame.loc[[0, 5], "target_events"] = 0  # (1, A) and (2, D): beyond each user's 2 newest
    by_hand = TrainData.from_frames(frame, CUT)
    expected = make_generator(name, seed=3, params={**params, "recent_items": 0}).fit(by_hand)
    np.testing.assert_array_equal(pruned.item_factors, expected.item_factors)
    np.testing.assert_array_equal(pruned.user_factors, expected.user_factors)
    full = make_generator(name, seed=3, params={**params, "recent_items": 0}).fit(d)
    assert not np.array_equal(full.item_factors, pruned.item_factors)


@pytest.mark.parametrize("name", ["ials", "bpr"])
def test_factor_models_never_recommend_items_outside_the_recent_items(name):
    d = data()  # with recent_items=2, D (user 2's oldest item) is nobody's recent item
    model = make_generator(name, seed=3, params={"factors": 4, "iterations": 3, "recent_items": 2}).fit(d)
    assert d.items.to_external(model.score_columns).tolist() == [A, B, C]
    recs = model.recommend(np.array([1, 2, 3], dtype=np.uint32), 4)
    assert D not in recs.item_id.tolist() and len(recs) == 3 * 3
