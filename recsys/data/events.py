"""Events of a chunk of users: listens, likes, dislikes, unlikes, undislikes (all vectorised).

The model, per user:

1. a *library* of (user, item) entries, each discovered at a time ``t0`` in the user's active
   period, from one of five sources: a favourite artist, a scene of the user's taste, the global
   charts (a few lasting hits, ``CHARTS_CONCENTRATION``), a new release trending on that day
   (biased to the user's genres), or exploration of the long tail; artists', scenes' and the long
   tail's tracks go in and out of fashion (``ERA_DAYS``);
2. every entry gets one play at ``t0`` plus a share of the user's remaining plays in proportion to
   a lognormal affinity (heavy repeat listening); later plays follow ``t0`` by truncated
   exponential delays (``REPLAY_TAU_DAYS``), longer for loved entries, so interest fades;
3. plays are snapped into sessions and laid out back to back by their played length;
4. ``played_ratio_pct`` depends on the entry's quality (taste fit) and on the play being organic;
   likes land on well-played entries of likeable tracks (``LIKEABILITY_WEIGHT``: listeners of one
   taste like the same tracks), less on the charts' hits (``SOURCE_LIKE``); dislikes end skipped
   ones, and some are undone later.

The constants below are the generator's mechanisms. Their values are calibrated so that the five
baselines the Yambda paper tunes score near its Tables 6 and 7 on generated 50m (``recsys profile
--against-paper``; ``tests/data/test_mechanisms.py`` shows each one's effect on tiny data).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recsys.data.catalogue import DAY, N_DAYS, N_SCENES, Catalogue
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

# entry sources: favourite artist, taste scene, global charts, trending new release, exploration
# of the long tail (recommendation radio). Organic shares are relative: they are rescaled so
# the listens' organic share matches the public one.
SOURCE_SHARE = np.array([0.29, 0.31, 0.08, 0.10, 0.22])
SOURCE_AFFINITY = np.array([2.5, 1.2, 10.0, 1.0, 0.15])
SOURCE_QUALITY = np.array([0.5, 0.2, 0.0, -0.1, -0.2])
SOURCE_ORGANIC = np.array([0.8, 0.55, 0.35, 0.3, 0.12])
# how readily an entry of each source is liked, relative to its plays and fit: the charts' lasting
# hits are played a lot but were liked long ago by those who like them
SOURCE_LIKE = np.array([1.0, 1.0, 0.03, 0.3, 1.0])
N_SOURCES = len(SOURCE_SHARE)
TREND_WINDOW_DAYS = 60
LONG_TAIL_EXPONENT = 0.7  # < 1: exploration reaches rarely played items (items with 1-2 events)
# exponent of item popularity in the global charts' draw: above 1 the charts concentrate on a few
# lasting hits that many users replay on any day (all-time popularity, MostPop, gains); 1 is the
# catalogue's own popularity. Set with the charts' share and affinity (SOURCE_SHARE[2],
# SOURCE_AFFINITY[2]: a hit found in the charts is replayed like a favourite)
CHARTS_CONCENTRATION = 5.0
CANDIDATES = 3
BUNDLE_SHARE = 0.4  # taste discoveries that pull in album mates
BUNDLE_MAX_EXTRA = 4
OVERSAMPLE = 1.4
DRAW_ROUNDS = 4  # rounds of draws to reach each user's number of distinct items
LIKE_POPULARITY = 0.2  # exponent of item popularity in the like propensity
# exponent of the items' like appeal (Catalogue.likeability) in the like propensity: above 0,
# listeners of one taste like the same tracks, so a like is predictable from other users' likes
# (0: off)
LIKEABILITY_WEIGHT = 2.5
# items go in and out of fashion: an artist's, scene's or the long tail's draw at time t keeps an
# item with probability ERA_FLOOR + (1 - ERA_FLOOR) * exp(-|t - peak| / ERA_DAYS) around the item's
# moment of fashion (Catalogue.era_peak; up to ERA_ROUNDS redraws), so who plays and likes a track
# clusters in time and all-time counts age. The charts' lasting hits are exempt. 0: off
ERA_DAYS = 30.0
ERA_FLOOR = 0.05
ERA_ROUNDS = 6
ITEM_BITS = 22  # item indices packed into int64 sort keys with user and time (4.19M items)
AFFINITY_SIGMA = 1.5
# mean days between a discovery and its replays for an entry of affinity 1 (loved entries are
# replayed longer: tau grows as affinity ** 0.5); longer spreads replays over the whole history,
# so the last hundred items predict less of a day's listening
REPLAY_TAU_DAYS = 30.0


@dataclass(frozen=True)
class Samplers:
    """Item samplers shared by every chunk."""

    by_artist: SegmentedSampler
    by_scene: SegmentedSampler
    charts: SegmentedSampler  # one segment
    long_tail: SegmentedSampler  # one segment, flattened popularity (weight ** LONG_TAIL_EXPONENT)
    back_catalogue: SegmentedSampler  # one segment, items released before the log
    trending: SegmentedSampler  # segment = day
    likeability: np.ndarray  # per item (Catalogue.likeability)
    era_peak: np.ndarray  # per item (Catalogue.era_peak)


def build_samplers(cat: Catalogue) -> Samplers:
    """Popularity-weighted item samplers by artist, scene, overall, and trending per day."""
    if cat.n_items >= 1 << ITEM_BITS:
        raise ValueError(f"at most {(1 << ITEM_BITS) - 1:,} catalogue items (sort keys pack item indices)")
    n = cat.n_items
    idx = np.arange(n)
    by_scene_order = np.argsort(cat.scene, kind="stable")
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
        by_scene=SegmentedSampler.build(
            cat.scene[by_scene_order], by_scene_order, cat.weight[by_scene_order], N_SCENES
        ),
        charts=SegmentedSampler.build(zeros, idx, cat.weight ** CHARTS_CONCENTRATION, 1),
        long_tail=SegmentedSampler.build(zeros, idx, cat.weight**LONG_TAIL_EXPONENT, 1),
        back_catalogue=SegmentedSampler.build(zeros, idx, cat.weight * ~cat.is_new, 1),
        trending=SegmentedSampler.build(
            day[order], rep[order], (cat.weight[rep] ** 0.8 * burst)[order], N_DAYS
        ),
        likeability=cat.likeability(),
        era_peak=cat.era_peak(),
    )


def _draw_released(
    rng: np.random.Generator, sampler: SegmentedSampler, segment: np.ndarray, t0: np.ndarray,
    cat: Catalogue, fallback: SegmentedSampler, era_peak: np.ndarray | None = None,
) -> np.ndarray:
    """Draw from ``sampler``; redraw items not yet released at ``t0``; then use ``fallback``;
    with ``era_peak``, redraw items out of fashion at ``t0`` (``ERA_DAYS``)."""
    out = sampler.sample(rng, segment)
    bad = np.flatnonzero(cat.release_ts[out] > t0)
    for _ in range(CANDIDATES - 1):
        if len(bad) == 0:
            break
        out[bad] = sampler.sample(rng, segment[bad])
        bad = bad[cat.release_ts[out[bad]] > t0[bad]]
    out[bad] = fallback.sample(rng, np.zeros(len(bad), dtype=np.int64))
    if era_peak is not None:  # out of fashion at t0: redraw (a redraw not yet released stops)
        pending = np.arange(len(out))
        for _ in range(ERA_ROUNDS):
            age = np.abs(t0[pending] - era_peak[out[pending]]) / (ERA_DAYS * DAY)
            pending = pending[rng.random(len(pending)) >= ERA_FLOOR + (1 - ERA_FLOOR) * np.exp(-age)]
            if len(pending) == 0:
                break
            fresh = sampler.sample(rng, segment[pending])
            released = cat.release_ts[fresh] <= t0[pending]
            out[pending[released]] = fresh[released]
            pending = pending[released]
    return out


def _draw_entries(
    rng: np.random.Generator, cat: Catalogue, smp: Samplers, users: Users, rows: np.ndarray,
    local: np.ndarray, t0: np.ndarray, src: np.ndarray,
) -> np.ndarray:
    """One item per entry, drawn according to its source."""
    n = len(local)
    user = rows[local]
    item = np.empty(n, dtype=np.int64)
    for s in range(N_SOURCES):
        m = np.flatnonzero(src == s)
        if s == 0:
            sampler, seg = smp.by_artist, users.favourites.sample(rng, user[m])
        elif s == 1:
            sampler, seg = smp.by_scene, users.taste.sample(rng, user[m])
        elif s == 2:
            sampler, seg = smp.charts, np.zeros(len(m), dtype=np.int64)
        elif s == 4:
            sampler, seg = smp.long_tail, np.zeros(len(m), dtype=np.int64)
        else:
            continue
        era = smp.era_peak if ERA_DAYS and s != 2 else None  # the charts' hits last
        item[m] = _draw_released(rng, sampler, seg, t0[m], cat, smp.back_catalogue, era)
    # trending: new releases of the day, preferring the user's genres
    m = np.flatnonzero(src == 3)
    day = np.minimum(t0[m] // DAY, N_DAYS - 1).astype(np.int64)
    ok_day = smp.trending.nonempty[day]
    item[m[~ok_day]] = smp.back_catalogue.sample(rng, np.zeros((~ok_day).sum(), dtype=np.int64))
    m, day = m[ok_day], day[ok_day]
    mask = users.taste_mask[user[m]]
    cands = [smp.trending.sample(rng, day) for _ in range(CANDIDATES + 1)]
    chosen = cands[0].copy()
    for c in reversed(cands):
        in_taste = (mask >> cat.cluster[c].astype(np.uint64)) & np.uint64(1)
        chosen = np.where(in_taste.astype(bool), c, chosen)
    item[m] = chosen
    return item


def _pack(major: np.ndarray, *minors_and_bits) -> np.ndarray:
    """One int64 sort key from non-negative integer columns: ``_pack(a, b, bits_b, c, bits_c)``."""
    key = np.asarray(major, dtype=np.int64)
    for value, bits in zip(minors_and_bits[::2], minors_and_bits[1::2], strict=True):
        key = (key << bits) | np.asarray(value, dtype=np.int64)
    return key


def _group_starts(sizes: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _round5(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0, TIMESTAMP_MAX)
    return (t // TIMESTAMP_STEP * TIMESTAMP_STEP).astype(np.uint32)


def _draw_candidates(
    rng: np.random.Generator, cat: Catalogue, smp: Samplers, users: Users, rows: np.ndarray,
    n_draws: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n_draws[u]`` discoveries per local user (plus album mates): local, item, t0, source."""
    start_u, end_u = users.start[rows], users.end[rows]
    local = np.repeat(np.arange(len(rows)), n_draws)
    t0 = start_u[local] + rng.random(len(local)) * (end_u - start_u)[local]
    src = rng.choice(N_SOURCES, len(local), p=SOURCE_SHARE)
    item = _draw_entries(rng, cat, smp, users, rows, local, t0, src)
    # album bundles: a discovery through taste often brings more tracks of the same album, so
    # album and artist mates are co-listened (what item-item models feed on)
    bundle = np.flatnonzero((src <= 1) & (rng.random(len(local)) < BUNDLE_SHARE))
    b = np.repeat(bundle, rng.integers(1, BUNDLE_MAX_EXTRA + 1, len(bundle)))
    mate = cat.album_start[item[b]] + (rng.random(len(b)) * cat.album_size[item[b]]).astype(np.int64)
    t_mate = np.minimum(t0[b] + rng.uniform(0, 3600, len(b)), end_u[local[b]])
    return (
        np.concatenate([local, local[b]]), np.concatenate([item, mate]),
        np.concatenate([t0, t_mate]), np.concatenate([src, src[b]]),
    )


def draw_library(
    rng: np.random.Generator, cat: Catalogue, smp: Samplers, users: Users, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The (user, item) library entries of users ``rows``: local user, item index, t0, source.

    Sorted by (local user, item); one entry per pair, the earliest discovery. Users whose
    taste draws repeat themselves get more rounds of draws (which then lean on the long tail).
    """
    listens_u = users.listens[rows]
    n_entries = np.clip(np.round(listens_u * users.distinct_share[rows]), 1, listens_u).astype(np.int64)
    have = np.zeros(len(rows), dtype=np.int64)
    parts: list[tuple[np.ndarray, ...]] = []
    for _ in range(DRAW_ROUNDS):
        deficit = n_entries - have
        if deficit.max() <= 0:
            break
        n_draws = np.where(deficit > 0, np.ceil(deficit * OVERSAMPLE).astype(np.int64) + 2, 0)
        parts.append(_draw_candidates(rng, cat, smp, users, rows, n_draws))
        local, item, t0, src = (np.concatenate(c) for c in zip(*parts, strict=True))
        # one entry per (user, item), the earliest discovery
        order = np.argsort(_pack(local, item, ITEM_BITS, t0.astype(np.int64), 25))
        local, item, t0, src = local[order], item[order], t0[order], src[order]
        first = np.ones(len(local), dtype=bool)
        first[1:] = (local[1:] != local[:-1]) | (item[1:] != item[:-1])
        local, item, t0, src = local[first], item[first], t0[first], src[first]
        parts = [(local, item, t0, src)]
        have = np.bincount(local, minlength=len(rows))
    # at most n_entries per user, a random subset
    order = np.argsort(_pack(local, rng.integers(0, 1 << 40, len(local)), 40))
    rank = np.arange(len(local)) - np.searchsorted(local[order], local[order])
    order = np.sort(order[rank < n_entries[local[order]]])
    return local[order], item[order], t0[order], src[order]


def generate_chunk(
    rng: np.random.Generator, cat: Catalogue, smp: Samplers, users: Users, rows: np.ndarray
) -> dict[str, dict[str, np.ndarray]]:
    """All events of the users ``rows`` (indices into ``users``), per event type, unsorted."""
    listens_u = users.listens[rows]
    end_u = users.end[rows]

    # 1. library entries
    local, item, t0, src = draw_library(rng, cat, smp, users, rows)
    n_e = len(local)

    affinity = rng.lognormal(0.0, AFFINITY_SIGMA, n_e) * SOURCE_AFFINITY[src]
    quality = 0.8 * rng.normal(0.0, 1.0, n_e) + 0.6 * np.log(affinity) + SOURCE_QUALITY[src]

    # 2. plays per entry: one discovery play + the user's remaining plays by affinity
    # Later plays follow t0 by exponential delays (mean tau). An entry discovered near the end
    # of the period has less room, so it gets fewer plays (weight x P(delay <= room)): the
    # density of plays over time stays flat instead of piling up at the end.
    tau_e = np.clip(REPLAY_TAU_DAYS * DAY * affinity**0.5, DAY, 150 * DAY)
    room_e = end_u[local] - t0
    per_user = np.bincount(local, minlength=len(rows))
    extra = listens_u - per_user
    alloc_weight = affinity * -np.expm1(-room_e / tau_e) + 1e-12
    alloc = SegmentedSampler.build(local, np.arange(n_e), alloc_weight, len(rows))
    picks = alloc.sample(rng, np.repeat(np.arange(len(rows)), extra))
    plays_e = 1 + np.bincount(picks, minlength=n_e)
    p_ent = np.repeat(np.arange(n_e), plays_e)
    e_start = _group_starts(plays_e)
    is_first = np.arange(len(p_ent)) == e_start[p_ent]
    delay = truncated_exponential(rng, tau_e[p_ent], room_e[p_ent])
    raw_t = t0[p_ent] + np.where(is_first, 0.0, delay)

    p_org = np.where(is_first & (src[p_ent] >= 2), 0.1, SOURCE_ORGANIC[src][p_ent])
    organic = rng.random(len(p_ent)) < _rescale_share(p_org, ORGANIC_SHARE["listen"])
    skip = rng.random(len(p_ent)) < sigmoid(-1.3 * quality[p_ent] - 0.2 + 0.7 * ~organic)

    # 3. entry-level likes and dislikes
    n_plays = len(p_ent)
    dislike_score = sigmoid(-2.0 * quality - 1.0) / np.sqrt(plays_e)
    disliked = calibrated_bernoulli(
        rng, dislike_score * users.dislike_propensity[rows][local], DISLIKE_RATE * n_plays
    )
    # people like what they play a lot, what fits their taste, and hits
    like_score = plays_e**0.8 * np.exp(quality) * cat.weight[item] ** LIKE_POPULARITY
    like_score *= users.like_propensity[rows][local] * SOURCE_LIKE[src]
    if LIKEABILITY_WEIGHT:
        like_score *= smp.likeability[item] ** LIKEABILITY_WEIGHT
    like_score = np.where(disliked, 0.0, like_score)
    liked = calibrated_bernoulli(rng, like_score, LIKE_RATE * n_plays)
    # a disliked entry ends with a skipped play
    is_last = raw_t == np.maximum.reduceat(raw_t, e_start)[p_ent]
    last_play = np.maximum.reduceat(np.where(is_last, np.arange(len(p_ent)), -1), e_start)
    skip[last_play[disliked]] = True

    ratio = _played_ratio(rng, skip)
    length = cat.track_length[item][p_ent]
    played = length * ratio.astype(np.float64) / 100.0

    # 4. sessions: snap to the latest session start, then play back to back
    user_p = local[p_ent]
    ts_play = _session_times(rng, users, rows, user_p, raw_t, played)

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
    # a track is liked early: at one of its first three plays
    like_play = e_start[like_e] + (rng.random(len(like_e)) * np.minimum(plays_e[like_e], 3)).astype(np.int64)
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
        p = share * users.undo_propensity[rows][local[entries]]
        keep = rng.random(len(entries)) < _rescale_share(p, share)
        entries, ts = entries[keep], ts[keep]
        room = np.maximum(end_u[local[entries]], ts + 5) - ts - 5
        later = ts + 5 + truncated_exponential(rng, np.full(len(ts), 20.0 * DAY), room)
        return like_like(entries, later, rng.random(len(entries)) < organic_share)

    return {
        "listens": listens,
        "likes": like_like(like_e, like_ts, _follow(rng, organic[like_play], ORGANIC_SHARE["like"])),
        "dislikes": like_like(dis_e, dis_ts, _follow(rng, organic[dis_play], ORGANIC_SHARE["dislike"])),
        "unlikes": undo(like_e, like_ts, UNLIKE_SHARE, ORGANIC_SHARE["unlike"]),
        "undislikes": undo(dis_e, dis_ts, UNDISLIKE_SHARE, ORGANIC_SHARE["undislike"]),
    }


def _session_times(
    rng: np.random.Generator, users: Users, rows: np.ndarray, user_p: np.ndarray,
    raw_t: np.ndarray, played: np.ndarray,
) -> np.ndarray:
    """Timestamps of plays: each moves to the latest session start of its user before its raw
    time, and the plays of a session follow each other by their played length."""
    s_keys, s_start = session_starts(rng, users, rows)
    raw = raw_t.astype(np.int64)
    sess = np.searchsorted(s_keys, user_p.astype(np.int64) * (1 << 26) + raw, side="right") - 1
    order = np.argsort(_pack(sess, raw, 25))
    cum = np.cumsum(played[order])
    before = cum - played[order]
    sess_sorted = sess[order]
    new_sess = np.ones(len(order), dtype=bool)
    new_sess[1:] = sess_sorted[1:] != sess_sorted[:-1]
    base = np.maximum.accumulate(np.where(new_sess, before, 0.0))
    ts = np.empty(len(raw), dtype=np.float64)
    ts[order] = s_start[sess_sorted] + (before - base)
    return _round5(ts)


def _played_ratio(rng: np.random.Generator, skip: np.ndarray) -> np.ndarray:
    """Integer percent: skips below 50, most full plays exactly 100, ~7% above (rewinds)."""
    n = len(skip)
    u = rng.random(n)
    full = np.where(u < 0.8, 100, rng.integers(50, 100, n))
    rewound = np.minimum(100 + np.ceil(100 * np.abs(rng.normal(0.0, 0.5, n))), 400)
    full = np.where(u > 0.93, rewound, full)
    return np.where(skip, rng.integers(1, 50, n), full).astype(np.uint16)


def _rescale_share(p: np.ndarray, target: float) -> np.ndarray:
    """Probabilities scaled so that their mean is ``target`` (shape kept, capped to [0, 1])."""
    if len(p) == 0:
        return p
    q = np.asarray(p, dtype=np.float64)
    for _ in range(100):  # fixed point; slow only when many values are capped at 1
        mean = q.mean()
        if abs(mean - target) < 1e-4 * target or mean <= 0:
            break
        q = np.clip(q * target / mean, 0.0, 1.0)
    return q


def _follow(rng: np.random.Generator, played_organic: np.ndarray, target: float) -> np.ndarray:
    """Organic flag of a like/dislike: mostly that of its play, rebalanced to the ``target`` share."""
    if len(played_organic) == 0:
        return played_organic
    p = np.where(played_organic, 0.85, 0.25)
    return rng.random(len(p)) < _rescale_share(p, target)
