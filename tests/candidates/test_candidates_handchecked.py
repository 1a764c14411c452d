"""Hand-checkable expectations for MostPop, DecayPop and History (values written as formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from candidate_fixtures import FOLDS, make_events, target_events, train_data

from recsys.candidates import TrainData, make_generator

CUT = 1_000_000
HOUR, DAY = 3600, 86_400
A, B, C, D = 201, 202, 203, 204


def interactions(rows: list[tuple]) -> pd.DataFrame:
    """(uid, item_id, target_events[, is_disliked]) -> a train_interactions frame."""
    frame = pd.DataFrame([(*r, 0)[:4] for r in rows], columns=["uid", "item_id", "target_events", "is_disliked"])
    frame["decayed_target_events"] = frame["target_events"].astype(float)
    frame["first_target_ts"] = frame["last_target_ts"] = CUT - 1
    frame["listen_events"] = frame["listen_plus_events"] = frame["target_events"]
    frame["is_liked"] = 0
    return frame


def events(rows: list[tuple]) -> pd.DataFrame:
    """(uid, item_id, seconds before the cut-off) -> an events frame."""
    return pd.DataFrame(
        [(u, i, CUT - age) for u, i, age in rows], columns=["uid", "item_id", "timestamp"]
    )


def as_lists(recs) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    for u, i, s in zip(recs.uid.tolist(), recs.item_id.tolist(), recs.score.tolist(), strict=True):
        out.setdefault(u, []).append((i, s))
    return out


def test_mostpop_counts_with_ties_by_item_id():
    data = TrainData.from_frames(
        interactions([(1, A, 3), (1, B, 1), (2, B, 2), (2, C, 3), (3, D, 1)]), CUT
    )
    recs = make_generator("mostpop", seed=0).fit(data).recommend(np.array([1, 3]), 3)
    # A: 3, B: 1 + 2 = 3, C: 3, D: 1 -> three-way tie broken by item_id, D cut off by n = 3
    assert as_lists(recs) == {1: [(A, 3.0), (B, 3.0), (C, 3.0)], 3: [(A, 3.0), (B, 3.0), (C, 3.0)]}


@pytest.mark.parametrize("fold, target", [(f, t) for f in FOLDS for t in ("listen_plus", "like")])
def test_mostpop_equals_independent_count(fold, target):
    ev = target_events(make_events(), target)
    ev = ev[ev["timestamp"] < FOLDS[fold][0]]
    expected = (
        ev.groupby("item_id").size().rename("count").reset_index()
        .sort_values(["count", "item_id"], ascending=[False, True])
    )  # fmt: skip
    recs = make_generator("mostpop", seed=0).fit(train_data(fold, target)).recommend(np.array([11]), 100)
    assert recs.item_id.tolist() == expected["item_id"].tolist()
    assert recs.score.tolist() == expected["count"].astype(float).tolist()


def decaypop_data() -> TrainData:
    ev = events([
        (1, A, 1 * HOUR), (2, A, 2 * HOUR),                 # A: 0.9^(1/h) + 0.9^(2/h)
        (1, B, HOUR // 2),                                   # B: 0.9^(0.5/h)
        (1, C, 10 * HOUR), (2, C, 10 * HOUR), (3, C, 10 * HOUR),  # C: 3 * 0.9^(10/h)
    ])  # fmt: skip
    inter = interactions([(1, A, 1), (2, A, 1), (1, B, 1), (1, C, 1), (2, C, 1), (3, C, 1)])
    return TrainData.from_frames(inter, CUT, events=ev)


@pytest.mark.parametrize("h", [1.0, 24.0])
def test_decaypop_scores_are_the_paper_formula(h):
    recs = make_generator("decaypop", seed=0, params={"hours": h}).fit(decaypop_data())
    scores = dict(as_lists(recs.recommend(np.array([1]), 3))[1])
    assert scores[A] == pytest.approx(0.9 ** (1 / h) + 0.9 ** (2 / h))
    assert scores[B] == pytest.approx(0.9 ** (0.5 / h))
    assert scores[C] == pytest.approx(3 * 0.9 ** (10 / h))


def test_decaypop_half_life_changes_the_order():
    fit = lambda h: make_generator("decaypop", seed=0, params={"hours": h}).fit(decaypop_data())  # noqa: E731
    # h = 1: A 1.71 > C 1.05 > B 0.95; h = 24: C 2.87 > A 1.99 > B 1.00
    assert fit(1.0).recommend(np.array([9]), 3).item_id.tolist() == [A, C, B]
    assert fit(24.0).recommend(np.array([9]), 3).item_id.tolist() == [C, A, B]


def history_data() -> TrainData:
    ev = events([
        (1, A, DAY), (1, A, DAY),   # 2 * 0.5^(1 day / half-life)
        (1, B, 2 * HOUR),           # 0.5^(2 h / half-life)
        (1, C, HOUR),               # disliked at the cut-off
        (2, D, 3 * DAY),            # user 2's only item
    ])  # fmt: skip
    inter = interactions([(1, A, 2), (1, B, 1), (1, C, 1, 1), (2, D, 1)])
    return TrainData.from_frames(inter, CUT, events=ev)


def test_history_decayed_counts_own_items_only():
    model = make_generator("history", seed=0, params={"half_life_days": 1.0}).fit(history_data())
    lists = as_lists(model.recommend(np.array([1, 2]), 10))
    assert lists[1] == [(A, pytest.approx(2 * 0.5**1)), (B, pytest.approx(0.5 ** (2 / 24)))]
    assert lists[2] == [(D, pytest.approx(0.5**3))]


def test_history_keeps_disliked_items_when_asked():
    params = {"half_life_days": 1.0, "drop_disliked": False}
    model = make_generator("history", seed=0, params=params).fit(history_data())
    lists = as_lists(model.recommend(np.array([1]), 10))
    # A: 2 * 0.5^1 = 1.0 > C: 0.5^(1/24) = 0.971 > B: 0.5^(2/24) = 0.944
    assert lists[1] == [
        (A, pytest.approx(2 * 0.5**1)), (C, pytest.approx(0.5 ** (1 / 24))),
        (B, pytest.approx(0.5 ** (2 / 24))),
    ]  # fmt: skip
