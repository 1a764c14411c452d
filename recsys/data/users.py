"""Generated users: activity, active period, taste (genres and favourite artists), sessions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.catalogue import DAY, N_CLUSTERS, SCENES_PER_GENRE, Catalogue
from recsys.data.sampling import SegmentedSampler
from recsys.schema import TIMESTAMP_MAX

HISTORY_SIGMA = 1.1  # lognormal sigma of listens per user (public 5b: p90/median = 4.2)
MIN_LISTENS = 20
ACTIVE_AT_END_SHARE = 0.78  # users whose active period reaches the end of the log
STARTS_AT_ZERO_SHARE = 0.4
DISTINCT_SHARE = 0.8  # distinct items / listens of a user of median activity


@dataclass(frozen=True)
class Users:
    """One row per user, sorted by ``uid``."""

    uid: np.ndarray  # uint32, sparse
    listens: np.ndarray  # int64 listens to generate
    start: np.ndarray  # float64 seconds
    end: np.ndarray  # float64 seconds
    distinct_share: np.ndarray  # float64: distinct items / listens
    taste: SegmentedSampler  # segment = user row, values = scene
    taste_mask: np.ndarray  # uint64 bit mask of the user's genres
    favourites: SegmentedSampler  # segment = user row, values = artist_idx
    like_propensity: np.ndarray  # float64, mean 1: some users like a lot, most a little
    dislike_propensity: np.ndarray  # float64, mean 1
    undo_propensity: np.ndarray  # float64, mean 1: how often the user takes a like/dislike back

    def __len__(self) -> int:
        return len(self.uid)


def _csr_dedupe(owner: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort (owner, value) pairs and drop duplicates."""
    order = np.lexsort((value, owner))
    owner, value = owner[order], value[order]
    keep = np.ones(len(owner), dtype=bool)
    keep[1:] = (owner[1:] != owner[:-1]) | (value[1:] != value[:-1])
    return owner[keep], value[keep]


def build_users(
    rng: np.random.Generator,
    n_users: int,
    total_listens: int,
    cat: Catalogue,
    scene_items: SegmentedSampler,
) -> Users:
    """Draw every user-level parameter (vectorised over users)."""
    uid = np.sort(rng.choice(n_users * 60, n_users, replace=False)).astype(np.uint32) + 100

    raw = rng.lognormal(0.0, HISTORY_SIGMA, n_users)
    listens = np.maximum(np.round(raw * (total_listens / raw.sum())), MIN_LISTENS).astype(np.int64)
    listens[np.argmax(listens)] += total_listens - listens.sum()  # hit the total exactly

    start = np.where(
        rng.random(n_users) < STARTS_AT_ZERO_SHARE, 0.0, rng.uniform(0, 0.75 * TIMESTAMP_MAX, n_users)
    )
    min_span = 0.12 * TIMESTAMP_MAX
    churn_end = rng.uniform(np.minimum(start + min_span, TIMESTAMP_MAX), TIMESTAMP_MAX)
    end = np.where(rng.random(n_users) < ACTIVE_AT_END_SHARE, float(TIMESTAMP_MAX), churn_end)

    # heavier users repeat more: distinct share falls slowly with activity
    rel = listens / np.median(listens)
    distinct_share = np.clip(DISTINCT_SHARE * rel**-0.12 * rng.lognormal(0.0, 0.25, n_users), 0.08, 0.9)

    # genres: 1-5 per user, popular genres more often; in each genre 2-5 scenes, popular scenes
    # more often; Dirichlet(1) weights over the user's scenes
    n_genres = 1 + np.minimum(rng.poisson(1.3, n_users), 4)
    genre_pop = np.bincount(cat.cluster, weights=cat.weight, minlength=N_CLUSTERS) ** 0.5
    owner = np.repeat(np.arange(n_users), n_genres)
    genre = rng.choice(N_CLUSTERS, len(owner), p=genre_pop / genre_pop.sum())
    owner, genre = _csr_dedupe(owner, genre)
    taste_mask = np.zeros(n_users, dtype=np.uint64)
    np.bitwise_or.at(taste_mask, owner, np.left_shift(np.uint64(1), genre.astype(np.uint64)))
    n_scenes = N_CLUSTERS * SCENES_PER_GENRE
    scene_pop = np.bincount(cat.scene, weights=cat.weight, minlength=n_scenes) ** 0.5
    scenes_in_genre = SegmentedSampler.build(
        np.arange(n_scenes) // SCENES_PER_GENRE, np.arange(n_scenes), scene_pop, N_CLUSTERS
    )
    per_genre = 2 + np.minimum(rng.poisson(1.0, len(owner)), 3)
    owner, genre = np.repeat(owner, per_genre), np.repeat(genre, per_genre)
    owner, scene = _csr_dedupe(owner, scenes_in_genre.sample(rng, genre))
    taste = SegmentedSampler.build(owner, scene, rng.exponential(1.0, len(owner)), n_users)

    # favourite artists: drawn through the user's genres, popular artists more often
    n_fav = 3 + rng.poisson(4.0 * rel**0.4)
    fav_owner = np.repeat(np.arange(n_users), n_fav)
    fav_item = scene_items.sample(rng, taste.sample(rng, fav_owner))
    fav_owner, fav_artist = _csr_dedupe(fav_owner, cat.artist_idx[fav_item])
    favourites = SegmentedSampler.build(
        fav_owner, fav_artist, rng.exponential(1.0, len(fav_owner)), n_users
    )
    propensity = [_mean_one(rng.lognormal(0.0, sigma, n_users)) for sigma in (1.2, 1.3, 1.0)]
    return Users(uid, listens, start, end, distinct_share, taste, taste_mask, favourites, *propensity)


def _mean_one(x: np.ndarray) -> np.ndarray:
    return x / x.mean()


def session_starts(rng: np.random.Generator, users: Users, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted session keys ``local_row * 2**26 + start_second`` for the users ``rows``.

    About 1.5 sessions per active day (more for heavy users), one at the start of each period.
    """
    start, end = users.start[rows], users.end[rows]
    span_days = (end - start) / DAY
    n = np.maximum(np.round(np.maximum(users.listens[rows] / 8, 1.5 * span_days)), 1).astype(np.int64)
    local = np.repeat(np.arange(len(rows)), n)
    t = start[local] + rng.random(len(local)) * (end - start)[local]
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    t[first] = start
    keys = np.sort(local.astype(np.int64) * (1 << 26) + t.astype(np.int64))
    return keys, keys & ((1 << 26) - 1)
