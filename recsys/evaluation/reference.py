"""Plain-Python metric definitions: the independent reference the SQL is tested against.

One user at a time, no DuckDB, written straight from the definitions in ``sql/metrics/README.md``
(binary relevance over the distinct target items, 1-based ranks). ``ranked`` is the user's
recommendation list in rank order (best first, distinct items); ``targets`` the distinct target
items. With ``n_targets`` a caller can override |T| (the paper and official Yambda conventions
count target events with repeats); :func:`paper_ndcg` and :func:`official_ndcg` are their NDCGs.

>>> round(ndcg([7, 3, 9], {3, 9}, k=3), 6) == round((1/math.log2(3) + 1/2) / (1 + 1/math.log2(3)), 6)
True
>>> recall([7, 3, 9], {3, 9, 4}, k=2)
0.3333333333333333
>>> average_precision([3, 7, 9], {3, 9}, k=3) == (1/1 + 2/3) / 2
True
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np


def _hit_ranks(ranked: Sequence[int], targets: Collection[int], k: int) -> list[int]:
    return [r for r, item in enumerate(ranked[:k], start=1) if item in targets]


def _size(targets: Collection[int], n_targets: int | None) -> int:
    return len(targets) if n_targets is None else n_targets


def ndcg(ranked: Sequence[int], targets: Collection[int], k: int, n_targets: int | None = None) -> float:
    """NDCG@k: sum of 1/log2(r+1) over hits, over the ideal sum for min(|T|, k) hits."""
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(_size(targets, n_targets), k) + 1))
    return sum(1 / math.log2(r + 1) for r in _hit_ranks(ranked, targets, k)) / ideal


def recall(
    ranked: Sequence[int], targets: Collection[int], k: int, n_targets: int | None = None,
    *, capped: bool = False,
) -> float:
    """Recall@k = hits / |T| (``capped``: hits / min(|T|, k), the official Yambda code).

    >>> recall([1, 2], {1, 2, 3}, k=2, capped=True)
    1.0
    """
    size = _size(targets, n_targets)
    return len(_hit_ranks(ranked, targets, k)) / (min(size, k) if capped else size)


def dcg(ranked: Sequence[int], targets: Collection[int], k: int) -> float:
    """DCG@k = sum over hits at rank r <= k of 1/log2(r+1)."""
    return sum(1 / math.log2(r + 1) for r in _hit_ranks(ranked, targets, k))


def ideal_dcg(n_targets: int, k: int) -> float:
    """IDCG over min(n_targets, k) ranks."""
    return sum(1 / math.log2(i + 1) for i in range(1, min(n_targets, k) + 1))


def paper_ndcg(users: Sequence[tuple[Sequence[int], Sequence[int]]], k: int) -> float:
    """The Yambda paper's NDCG@k: a ratio of sums over users, with repeats counted.

    ``users`` holds ``(ranked, target_events)`` per user, ``target_events`` the item of every
    target event (an item listened to twice appears twice): sum of DCG@k over users divided by the
    sum of IDCG over min(n_u, k) ranks, n_u = number of target events.

    >>> value = paper_ndcg([([1, 2], [2, 2, 2]), ([5], [6])], k=2)
    >>> value == (1 / math.log2(3) + 0) / ((1 + 1 / math.log2(3)) + 1)
    True
    """
    dcgs = sum(dcg(ranked, set(events), k) for ranked, events in users)
    return dcgs / sum(ideal_dcg(len(events), k) for _, events in users)


def official_ndcg(ranked: Sequence[int], targets: Collection[int], k: int) -> float:
    """The official code's NDCG@k: DCG_u / DCG_u (its ideal mask is unused), 0 without a hit,
    i.e. HitRate@k.

    >>> official_ndcg([4, 9], {9}, k=2), hitrate([4, 9], {9}, k=2)
    (1.0, 1.0)
    """
    value = dcg(ranked, targets, k)
    return value / value if value > 0 else 0.0


def precision(ranked: Sequence[int], targets: Collection[int], k: int) -> float:
    """Precision@k = hits / k, also when the list is shorter than k.

    >>> precision([1], {1}, k=10)
    0.1
    """
    return len(_hit_ranks(ranked, targets, k)) / k


def hitrate(ranked: Sequence[int], targets: Collection[int], k: int) -> float:
    """HitRate@k = 1 if any of the top k is a target."""
    return float(bool(_hit_ranks(ranked, targets, k)))


def mrr(ranked: Sequence[int], targets: Collection[int], k: int) -> float:
    """MRR@k = 1 / rank of the first hit, 0 without a hit.

    >>> mrr([5, 6, 1], {1}, k=3)
    0.3333333333333333
    """
    hits = _hit_ranks(ranked, targets, k)
    return 1 / hits[0] if hits else 0.0


def average_precision(
    ranked: Sequence[int], targets: Collection[int], k: int, n_targets: int | None = None
) -> float:
    """AP@k = sum over hits at rank r of precision@r, divided by min(|T|, k)."""
    hits = _hit_ranks(ranked, targets, k)
    return sum(i / r for i, r in enumerate(hits, start=1)) / min(_size(targets, n_targets), k)


def coverage(lists: Collection[Sequence[int]], k: int, n_history_items: int) -> float:
    """Coverage@k = distinct items across the given top-k lists / the items a model ranks (the
    items with a target-type event in the history). Which users' lists: the evaluated users
    (standard) or every user with target-type history (paper, official).

    >>> coverage([[1, 2], [2, 3]], k=1, n_history_items=4)
    0.5
    """
    return len({item for ranked in lists for item in ranked[:k]}) / n_history_items


def novelty(ranked: Sequence[int], k: int, item_users: dict[int, int], n_users: int) -> float:
    """Mean self-information -log2((pop(i) + 1) / (U + 1)) over the top k items."""
    top = ranked[:k]
    return sum(-math.log2((item_users.get(i, 0) + 1) / (n_users + 1)) for i in top) / len(top)


def popularity_percentiles(history_popularity: dict[int, int]) -> dict[int, float]:
    """Share of history items strictly less popular than each item: (rank - 1) / (n - 1).

    >>> popularity_percentiles({1: 5, 2: 0, 3: 5, 4: 2})
    {1: 0.6666666666666666, 2: 0.0, 3: 0.6666666666666666, 4: 0.3333333333333333}
    """
    values = sorted(history_popularity.values())
    n = len(values)
    out = {}
    for item, pop in history_popularity.items():
        below = sum(1 for v in values if v < pop)
        out[item] = below / (n - 1) if n > 1 else 0.0
    return out


def popularity_bias(ranked: Sequence[int], k: int, percentiles: dict[int, float]) -> float:
    """Mean popularity percentile over the top k items (0 for items outside the history)."""
    top = ranked[:k]
    return sum(percentiles.get(i, 0.0) for i in top) / len(top)


def diversity(ranked: Sequence[int], k: int, embeddings: dict[int, np.ndarray]) -> float | None:
    """1 - mean dot product over pairs of embedded top-k items; None with fewer than two."""
    vectors = [np.asarray(embeddings[i], dtype=np.float64) for i in ranked[:k] if i in embeddings]
    n = len(vectors)
    if n < 2:
        return None
    sims = [float(vectors[a] @ vectors[b]) for a in range(n) for b in range(a + 1, n)]
    return 1 - sum(sims) / len(sims)
