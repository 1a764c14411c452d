"""Generator mechanisms of issue 29: each is a parameter of ``recsys.data.events`` (or
``recsys.data.users``) set by the 50m calibration; each test generates tiny (seed 7) with the
calibrated defaults and again with that one mechanism switched off, and shows the difference the
mechanism makes (so it fails when the default is switched off)."""

from __future__ import annotations

import functools

import duckdb
import numpy as np
import pytest

from recsys.data import events, users
from recsys.data.generate import generate_dataset
from recsys.data.profile import profile_dataset

SOURCES = ("artist", "scene", "charts", "trending", "long_tail")


def _generated(factory, name: str, module=events, **constants):
    """A tiny dataset (seed 7) generated with ``module``'s constants set."""
    root = factory.mktemp(name)
    with pytest.MonkeyPatch.context() as patch:
        for constant, value in constants.items():
            patch.setattr(module, constant, value)
        generate_dataset(root, "tiny", seed=7)
    return root


def _without_source(name: str) -> np.ndarray:
    """``SOURCE_SHARE`` with one source's share given to the others in proportion."""
    share = events.SOURCE_SHARE.copy()
    share[SOURCES.index(name)] = 0.0
    return share / share.sum()


def _parquet(root, name: str) -> str:
    return str(root / "flat" / "tiny" / f"{name}.parquet")


@functools.cache
def _profile(root) -> dict:
    """``profile_dataset`` of a generated tiny dataset, once per dataset."""
    return profile_dataset(root, "tiny")


def _signal(root, k: int, name: str) -> float:
    return _profile(root)["signals"][f"recall@{k}"][name]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    return _generated(tmp_path_factory, "calibrated")


def test_lasting_hits_make_all_time_popularity_predictive(calibrated, tmp_path_factory):
    # the charts concentrate on a few lasting hits that many users replay on any day, so the
    # all-time most played tracks are among a day's Listen+ targets (paper: MostPop NDCG@10 is
    # 0.7x DecayPop's); switched off, the charts draw by plain popularity
    off = _generated(tmp_path_factory, "charts_off", CHARTS_CONCENTRATION=1.0)
    on_recall, off_recall = (_signal(r, 10, "most_pop_recall") for r in (calibrated, off))
    assert on_recall > 2 * off_recall, (on_recall, off_recall)


def _recent_over_all_time(root) -> float:
    """Test-day Listen+ Recall@100 of DecayPop minus MostPop's."""
    return _signal(root, 100, "decay_pop_recall") - _signal(root, 100, "most_pop_recall")


def test_trending_releases_make_recent_popularity_win(calibrated, tmp_path_factory):
    # new releases rise and decay within days: the last hours' popularity finds more of the
    # test day than all-time popularity does; without trending discoveries it finds less
    off = _generated(tmp_path_factory, "trending_off", SOURCE_SHARE=_without_source("trending"))
    on_gain, off_gain = (_recent_over_all_time(r) for r in (calibrated, off))
    assert on_gain > 0 and on_gain > off_gain + 0.01, (on_gain, off_gain)


def test_fashion_ages_all_time_counts(calibrated, tmp_path_factory):
    # tracks of artists, scenes and the long tail go in and out of fashion: what was played
    # lately predicts the test day better than all-time counts, by more than without fashion
    off = _generated(tmp_path_factory, "era_off", ERA_DAYS=0.0)
    on_gain, off_gain = (_recent_over_all_time(r) for r in (calibrated, off))
    assert on_gain > off_gain + 0.01, (on_gain, off_gain)


def _co_liked_share(root) -> float:
    """Of the likes in the second half of the log, the share on tracks another user liked in
    the first half: how far other users' likes predict a like."""
    likes = _parquet(root, "likes")
    return duckdb.sql(f"""
        with l as (select uid, item_id, timestamp from read_parquet('{likes}')),
        cut as (select median(timestamp) as t from l)
        select avg(case when exists (
            select 1 from l as o, cut where o.item_id = late.item_id and o.uid <> late.uid
                and o.timestamp < cut.t
        ) then 1.0 else 0.0 end)
        from l as late, cut where late.timestamp >= cut.t
    """).fetchone()[0]


def test_likeable_tracks_are_liked_by_many(calibrated, tmp_path_factory):
    # the same tracks appeal to every listener of a taste: more of a user's likes were someone
    # else's first
    off = _generated(tmp_path_factory, "likeability_off", LIKEABILITY_WEIGHT=0.0)
    on_share, off_share = (_co_liked_share(r) for r in (calibrated, off))
    assert on_share > 1.05 * off_share, (on_share, off_share)


def _top_tracks_like_share(root) -> float:
    """Share of likes on the 20 most played tracks, over their share of listens."""
    listens, likes = _parquet(root, "listens"), _parquet(root, "likes")
    return duckdb.sql(f"""
        with plays as (select item_id, count(*) as n from read_parquet('{listens}') group by item_id),
        top as (select item_id from plays order by n desc, item_id limit 20)
        select avg((item_id in (select item_id from top))::int)
               / (select sum(n) filter (where item_id in (select item_id from top)) / sum(n) from plays)
        from read_parquet('{likes}')
    """).fetchone()[0]


def test_lasting_hits_are_played_more_than_liked(calibrated, tmp_path_factory):
    # the charts' hits were liked long ago by those who like them: they take a smaller share
    # of likes than of listens (paper: MostPop is weak on Like, strong on Listen+)
    off = _generated(tmp_path_factory, "source_like_off", SOURCE_LIKE=np.ones(len(SOURCES)))
    on_ratio, off_ratio = (_top_tracks_like_share(r) for r in (calibrated, off))
    assert on_ratio < 0.7 * off_ratio, (on_ratio, off_ratio)


def test_replays_spread_over_the_history(calibrated, tmp_path_factory):
    # replays come weeks after a discovery, not days: the user's hundred most played recent
    # tracks cover less of a day's listening (paper: ItemKNN Recall@100 is 0.13 at 50m)
    off = _generated(tmp_path_factory, "replay_off", REPLAY_TAU_DAYS=10.0)
    on_recall, off_recall = (_signal(r, 100, "history_recall") for r in (calibrated, off))
    assert on_recall < 0.9 * off_recall, (on_recall, off_recall)


def _repeat_ratio(root) -> float:
    return _profile(root)["listens"]["repeat_listen_ratio"]


def test_more_discoveries_fewer_repeats(calibrated, tmp_path_factory):
    off = _generated(tmp_path_factory, "distinct_off", module=users, DISTINCT_SHARE=0.5)
    on_ratio, off_ratio = (_repeat_ratio(r) for r in (calibrated, off))
    assert on_ratio < off_ratio - 0.05, (on_ratio, off_ratio)


def _long_tail(root) -> tuple[int, float]:
    """Items with events, and the share of them with only 1-2 events."""
    catalogue = _profile(root)["catalogue"]
    return catalogue["items"], catalogue["items_with_1_2_events_share"]


def test_exploration_makes_the_long_tail(calibrated, tmp_path_factory):
    # recommendation radio reaches deep into the catalogue: many more tracks get played at all,
    # and a substantial share of them only once or twice (the paper's "long-tail segment")
    off = _generated(tmp_path_factory, "long_tail_off", SOURCE_SHARE=_without_source("long_tail"))
    (on_items, on_share), (off_items, _) = (_long_tail(r) for r in (calibrated, off))
    assert on_share > 0.15 and on_items > 1.1 * off_items, (on_items, on_share, off_items)
