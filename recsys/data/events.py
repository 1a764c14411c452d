"""Events of a chunk of users: listens, likes, dislikes, unlikes, undislikes (all vectorised).

The model, per user:

1. a *library* of (user, item) entries, each discovered at a time ``t0`` in the user's active
   period, from one of four sources: a favourite artist, a genre of the user's taste, the global
   charts, or a new release trending on that day (biased to the user's genres);
2. every entry gets one play at ``t0`` plus a share of the user's remaining plays in proportion to
   a lognormal affinity (heavy repeat listening); later plays follow ``t0`` by truncated
   exponential delays, longer for loved entries, so interest fades and recency matters;
3. plays are snapped into sessions and laid out back to back by their played length;
4. ``played_ratio_pct`` depends on the entry's quality (taste fit) and on the play being organic;
   likes land on well-played entries, dislikes end skipped ones, and some are undone later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.catalogue import DAY, N_DAYS, Catalogue
from recsys.data.presets import (
    DISLIKE_RATE,
    LIKE_RATE,
    ORGANIC_SHARE,
    UNDISLIKE_SHARE,
    UNLIKE_SHARE,
)
from recsys.data.sampling import (
    SegmentedSampler,
    calibrated_bernoulli,
    sigmoid,
    truncated_exponential,
)
from recsys.data.users import Users, session_starts
from recsys.schema import TIMESTAMP_MAX, TIMESTAMP_STEP

# entry sources: favourite artist, taste genre, global charts, trending new release
SOURCE_SHARE = np.array([0.30, 0.37, 0.13, 0.20])
SOURCE_AFFINITY = np.array([2.5, 1.2, 1.0, 1.0])
SOURCE_QUALITY = np.array([0.5, 0.2, 0.0, -0.2])
SOURCE_ORGANIC = np.array([0.74, 0.52, 0.35, 0.3])
TREND_WINDOW_DAYS = 60
CANDIDATES = 3


@dataclass(frozen=True)
class Samplers:
    """Item samplers shared by every chunk."""

    by_artist: SegmentedSampler
    by_cluster: SegmentedSampler
    charts: SegmentedSampler  # one segment
    back_catalogue: SegmentedSampler  # one segment, items released before the log
    trending: SegmentedSampler  # segment = day


def build_samplers(cat: Catalogue) -> Samplers:
    n = cat.n_items
    idx = np.arange(n)
    by_cluster_order = np.argsort(cat.cluster, kind="stable")
    new = np.flatnonzero(cat.is_new)
    rep = np.repeat(new, TREND_WINDOW_DAYS)
    age = np.tile(np.arange(TREND_WINDOW_DAYS), len(new)) + 0.5
    day = (cat.release_ts[rep] // DAY).astype(np.int64) + age.astype(np.int64)
    keep = day < N_DAYS
    rep, age, day = rep[keep], age[keep], day[keep]
    burst = (1 - np.exp(-age / 1.5)) * np.exp(-age / 20.0)
    order = np.argsort(day, kind="stable")
    zeros = np.zeros(n, dtype=np.int64)
    return Samplers(
        by_artist=SegmentedSampler.build(cat.artist_idx, idx, cat.weight, cat.n_artists),
        by_cluster=SegmentedSampler.build(
            cat.cluster[by_cluster_order], by_cluster_order, cat.weight[by_cluster_order],
            int(cat.cluster.max()) + 1,
        ),
        charts=SegmentedSampler.build(zeros, idx, cat.weight, 1),
        back_catalogue=SegmentedSampler.build(zeros, idx, cat.weight * ~cat.is_new, 1),
        trending=SegmentedSampler.build(
            day[order], rep[order], (cat.weight[rep] ** 0.8 * burst)[order], N_DAYS
        ),
    )


def _first_released(cands: list[np.ndarray], t0: np.ndarray, cat: Catalogue, fallback: np.ndarray) -> np.ndarray:
    out = fallback.copy()
    for c in reversed(cands):  # earlier candidates win
        out = np.where(cat.release_ts[c] <= t0, c, out)
    return out


def _draw_entries(rng, cat, smp: Samplers, users: Users, rows, local, t0, src) -> np.ndarray:
    """One item per entry, drawn according to its source."""
    n = len(local)
    user = rows[local]
    item = smp.back_catalogue.sample(rng, np.zeros(n, dtype=np.int64))  # always-valid fallback
    for s, draw in ((0, "artist"), (1, "cluster"), (2, "charts")):
        m = np.flatnonzero(src == s)
        if draw == "artist":
            seg = users.favourites.sample(rng, user[m])
            cands = [smp.by_artist.sample(rng, seg) for _ in range(CANDIDATES)]
        elif draw == "cluster":
            seg = users.taste.sample(rng, user[m])
            cands = [smp.by_cluster.sample(rng, seg) for _ in range(CANDIDATES)]
        else:
            zero = np.zeros(len(m), dtype=np.int64)
            cands = [smp.charts.sample(rng, zero) for _ in range(CANDIDATES)]
        item[m] = _first_released(cands, t0[m], cat, item[m])
    # trending: new releases of the day, preferring the user's genres
    m = np.flatnonzero(src == 3)
    day = np.minimum(t0[m] // DAY, N_DAYS - 1).astype(np.int64)
    ok_day = smp.trending.nonempty[day]
    m, day = m[ok_day], day[ok_day]
    mask = users.taste_mask[user[m]]
    cands = [smp.trending.sample(rng, day) for _ in range(CANDIDATES + 1)]
    chosen = cands[0].copy()
    for c in reversed(cands):
        in_taste = (mask >> cat.cluster[c].astype(np.uint64)) & np.uint64(1)
        chosen = np.where(in_taste.astype(bool), c, chosen)
    item[m] = chosen
    return item


def _group_starts(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _round5(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0, TIMESTAMP_MAX)
    return (t // TIMESTAMP_STEP * TIMESTAMP_STEP).astype(np.uint32)


def generate_chunk(
    rng: np.random.Generator, cat: Catalogue, smp: Samplers, users: Users, rows: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """All events of the users ``rows`` (indices into ``users``), per event type, unsorted."""
    listens_u = users.listens[rows]
    start_u, end_u = users.start[rows], users.end[rows]

    # 1. library entries
    n_entries = np.clip(np.round(listens_u * users.distinct_share[rows]), 1, listens_u).astype(np.int64)
    local = np.repeat(np.arange(len(rows)), n_entries)
    t0 = start_u[local] + rng.random(len(local)) * (end_u - start_u)[local]
    src = rng.choice(4, len(local), p=SOURCE_SHARE)
    item = _draw_entries(rng, cat, smp, users, rows, local, t0, src)
    # one entry per (user, item): keep the earliest discovery
    order = np.lexsort((t0, item, local))
    local, item, t0, src = local[order], item[order], t0[order], src[order]
    first = np.ones(len(local), dtype=bool)
    first[1:] = (local[1:] != local[:-1]) | (item[1:] != item[:-1])
    local, item, t0, src = local[first], item[first], t0[first], src[first]
    n_e = len(local)

    affinity = rng.lognormal(0.0, 1.1, n_e) * SOURCE_AFFINITY[src]
    quality = 0.8 * rng.normal(0.0, 1.0, n_e) + 0.6 * np.log(affinity) + SOURCE_QUALITY[src]

    # 2. plays per entry: one discovery play + the user's remaining plays by affinity
    per_user = np.bincount(local, minlength=len(rows))
    extra = listens_u - per_user
    alloc = SegmentedSampler.build(local, np.arange(n_e), affinity, len(rows))
    picks = alloc.sample(rng, np.repeat(np.arange(len(rows)), extra))
    plays_e = 1 + np.bincount(picks, minlength=n_e)
    p_ent = np.repeat(np.arange(n_e), plays_e)
    e_start = _group_starts(plays_e)
    is_first = np.arange(len(p_ent)) == e_start[p_ent]
    tau = np.clip(12 * DAY * affinity**0.6, DAY, 300 * DAY)[p_ent]
    room = end_u[local][p_ent] - t0[p_ent]
    raw_t = t0[p_ent] + np.where(is_first, 0.0, truncated_exponential(rng, tau, room))

    p_org = np.where(is_first & (src[p_ent] >= 2), 0.15, SOURCE_ORGANIC[src][p_ent])
    organic = rng.random(len(p_ent)) < p_org
    skip = rng.random(len(p_ent)) < sigmoid(-1.3 * quality[p_ent] - 0.2 + 0.7 * ~organic)

    # 3. entry-level likes and dislikes
    n_plays = len(p_ent)
    disliked = calibrated_bernoulli(
        rng, sigmoid(-2.0 * quality - 1.0) / np.sqrt(plays_e), DISLIKE_RATE * n_plays
    )
    like_score = np.where(disliked, 0.0, plays_e**0.8 * np.exp(quality))
    liked = calibrated_bernoulli(rng, like_score, LIKE_RATE * n_plays)
    # a disliked entry ends with a skipped play
    by_time = np.lexsort((raw_t, p_ent))
    last_play = by_time[e_start + plays_e - 1]
    skip[last_play[disliked]] = True

    ratio = _played_ratio(rng, skip)
    length = cat.track_length[item][p_ent]
    played = length * ratio.astype(np.float64) / 100.0

    # 4. sessions: snap to the latest session start, then play back to back
    s_keys, s_start = session_starts(rng, users, rows)
    user_p = local[p_ent]
    sess = np.searchsorted(s_keys, user_p.astype(np.int64) * (1 << 26) + raw_t.astype(np.int64), side="right") - 1
    order = np.lexsort((raw_t, sess))
    cum = np.cumsum(played[order])
    before = cum - played[order]
    sess_sorted = sess[order]
    new_sess = np.ones(len(order), dtype=bool)
    new_sess[1:] = sess_sorted[1:] != sess_sorted[:-1]
    base = np.maximum.accumulate(np.where(new_sess, before, 0.0))
    ts = np.empty(n_plays, dtype=np.float64)
    ts[order] = s_start[sess_sorted] + (before - base)
    ts_play = _round5(ts)

    uid = users.uid[rows]
    listens = {
        "uid": uid[user_p],
        "timestamp": ts_play,
        "item_id": cat.item_id[item][p_ent],
        "is_organic": organic.astype(np.uint8),
        "played_ratio_pct": ratio,
        "track_length_seconds": length.astype(np.uint32),
    }

    # 5. like/dislike timestamps: right after a play of the entry
    like_e = np.flatnonzero(liked)
    like_play = e_start[like_e] + (rng.random(len(like_e)) * plays_e[like_e]).astype(np.int64)
    like_ts = ts_play[like_play].astype(np.float64) + np.ceil(played[like_play] / 5) * 5 + 5
    dis_e = np.flatnonzero(disliked)
    dis_play = last_play[dis_e]
    dis_ts = ts_play[dis_play].astype(np.float64) + np.ceil(played[dis_play] / 5) * 5 + 5

    def like_like(entries, ts, is_org):
        return {
            "uid": uid[local[entries]],
            "timestamp": _round5(ts),
            "item_id": cat.item_id[item[entries]],
            "is_organic": is_org.astype(np.uint8),
        }

    def undo(entries, ts, share, organic_share):
        keep = rng.random(len(entries)) < share
        entries, ts = entries[keep], ts[keep]
        room = np.maximum(end_u[local[entries]], ts + 5) - ts - 5
        later = ts + 5 + truncated_exponential(rng, np.full(len(ts), 20.0 * DAY), room)
        return like_like(entries, later, rng.random(len(entries)) < organic_share)

    return {
        "listens": listens,
        "likes": like_like(like_e, like_ts, organic[like_play]),
        "dislikes": like_like(dis_e, dis_ts, organic[dis_play]),
        "unlikes": undo(like_e, like_ts, UNLIKE_SHARE, ORGANIC_SHARE["unlike"]),
        "undislikes": undo(dis_e, dis_ts, UNDISLIKE_SHARE, ORGANIC_SHARE["undislike"]),
    }


def _played_ratio(rng: np.random.Generator, skip: np.ndarray) -> np.ndarray:
    """Integer percent: skips below 50, most full plays exactly 100, ~7% above (rewinds)."""
    n = len(skip)
    u = rng.random(n)
    full = np.where(u < 0.8, 100, rng.integers(50, 100, n))
    rewound = np.minimum(100 + np.ceil(100 * np.abs(rng.normal(0.0, 0.5, n))), 400)
    full = np.where(u > 0.93, rewound, full)
    return np.where(skip, rng.integers(1, 50, n), full).astype(np.uint16)
