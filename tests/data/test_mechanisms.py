"""Generator mechanisms of issue 29, each a parameter whose effect a tiny dataset shows (and
whose test fails with the mechanism switched off)."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from recsys.data import events
from recsys.data.generate import generate_dataset


def _co_liked_share(root) -> float:
    """Of the likes in the second half of the log, the share on tracks another user liked in
    the first half: how far other users' likes predict a like."""
    likes = pq.read_table(root / "flat" / "tiny" / "likes.parquet").to_pandas()
    cut = np.median(likes["timestamp"])
    early, late = likes[likes["timestamp"] < cut], likes[likes["timestamp"] >= cut]
    likers = early.groupby("item_id")["uid"].agg(set)
    others = [bool(likers.get(i, set()) - {u}) for u, i in zip(late["uid"], late["item_id"],
                                                                strict=True)]
    return float(np.mean(others))


def _generated(factory, name: str, **constants):
    """A tiny dataset (seed 7) generated with ``recsys.data.events`` constants set."""
    root = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        for constant, value in constants.items():
            patch.setattr(events, constant, value)
        generate_dataset(root, "tiny", seed=7)
    return root


@pytest.fixture(scope="module")
def co_liked(tmp_path_factory) -> dict[float, float]:
    return {weight: _co_liked_share(_generated(tmp_path_factory, f"likeability_{weight}",
                                               LIKEABILITY_WEIGHT=weight))
            for weight in (0.0, 1.5)}


def test_likeable_tracks_are_liked_by_many(co_liked):
    # the same tracks appeal to every listener: more of a user's likes were someone else's first
    # (tiny, seed 7: 0.42 without, 0.47 with weight 1.5; without the mechanism both are equal)
    assert co_liked[1.5] > 1.05 * co_liked[0.0], co_liked


@pytest.fixture(scope="module")
def most_pop_recall(tmp_path_factory) -> dict[float, float]:
    from recsys.data.profile import profile_dataset

    recall = {}
    for concentration in (1.0, 2.5):
        # both runs: charts 10% of the discoveries, replayed like favourites
        root = _generated(tmp_path_factory, f"charts_{concentration}",
                          CHARTS_CONCENTRATION=concentration,
                          SOURCE_SHARE=np.array([0.28, 0.30, 0.10, 0.10, 0.22]),
                          SOURCE_AFFINITY=np.array([2.5, 1.2, 3.0, 1.0, 0.15]))
        recall[concentration] = profile_dataset(root, "tiny")["signals"]["recall@100"][
            "most_pop_recall"]
    return recall


def test_concentrated_charts_make_all_time_popularity_predictive(most_pop_recall):
    # a few lasting hits in the charts: the test day's Listen+ targets are more often the
    # all-time most played tracks (tiny, seed 7: 0.043 at 1, 0.092 at 2.5; without the
    # mechanism both runs are the same data)
    assert most_pop_recall[2.5] > 1.2 * most_pop_recall[1.0], most_pop_recall
