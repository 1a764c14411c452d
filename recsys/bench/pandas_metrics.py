"""The evaluation baseline: accuracy metrics the straightforward way, a Python loop over users.

What a tutorial would write: group the targets into one set per user, group each model's
recommendations into one ranked list per user, then loop over the users and their lists. It
computes exactly what ``sql/metrics/accuracy.sql`` computes with its default variables (six
metrics at every cut-off, for the three target subsets), so the two can be timed like for like
and must agree to 1e-9.
"""

from __future__ import annotations

import math  # noqa: F401 (used by the doctest)
from collections.abc import Sequence

import pandas as pd

from recsys.columns import Columns as C
from recsys.evaluation import reference

ACCURACY_METRICS = ("ndcg", "recall", "precision", "hitrate", "mrr", "map")
SUBSETS = ("all", "organic", "recommendation")
ACCURACY_KEYS = [C.fold, C.target, C.model, "subset", "metric", "k"]


def _targets_by_subset(targets: pd.DataFrame) -> dict[tuple, dict]:
    """(fold, target, subset) -> {uid: set of target items}; a user is in a subset when it holds
    at least one of the subset's targets (organic: is_organic = 1, recommendation: 0)."""
    out: dict[tuple, dict] = {}
    for (fold, target, uid), group in targets.groupby([C.fold, C.target, C.uid], sort=True):
        items, organic = group[C.item_id].tolist(), group[C.is_organic].tolist()
        sets = {
            "all": set(items),
            "organic": {i for i, o in zip(items, organic, strict=True) if o == 1},
            "recommendation": {i for i, o in zip(items, organic, strict=True) if o == 0},
        }
        for subset, relevant in sets.items():
            if relevant:
                out.setdefault((fold, target, subset), {})[uid] = relevant
    return out


# the per-user formulas are the project's Python reference (tests hold the SQL equal to it)
METRIC_FUNCTIONS = {
    "ndcg": reference.ndcg, "recall": reference.recall, "precision": reference.precision,
    "hitrate": reference.hitrate, "mrr": reference.mrr, "map": reference.average_precision,
}


def pandas_accuracy(
    recommendations: pd.DataFrame, targets: pd.DataFrame, ks: Sequence[int] = (10, 100)
) -> pd.DataFrame:
    """NDCG, Recall, Precision, HitRate, MRR and MAP at each k, per target subset, by a user loop.

    Parameters
    ----------
    recommendations : DataFrame
        fold, target, model, uid, item_id, rank (1-based).
    targets : DataFrame
        fold, target, uid, item_id, is_organic: the evaluated users and their distinct targets.
    ks : sequence of int
        Cut-offs.

    Returns
    -------
    DataFrame
        fold, target, model, subset, metric, k, value (mean over the subset's evaluated users; a
        user without recommendations scores 0), users. Only (fold, target) pairs with
        recommendations, as in ``accuracy.sql``.

    Examples
    --------
    >>> recs = pd.DataFrame({"fold": "test", "target": "like", "model": "m", "uid": 1,
    ...                      "item_id": [7, 8], "rank": [1, 2]})
    >>> tg = pd.DataFrame({"fold": "test", "target": "like", "uid": 1, "item_id": [8, 9],
    ...                    "is_organic": [1, 0]})
    >>> out = pandas_accuracy(recs, tg, ks=[2]).set_index(["subset", "metric"])["value"]
    >>> [float(out[key]) for key in [("all", "mrr"), ("organic", "recall"), ("recommendation", "hitrate")]]
    [0.5, 1.0, 0.0]
    """
    ks = sorted({int(k) for k in ks})
    max_k = max(ks)
    users_by_subset = _targets_by_subset(targets)
    rows = []
    for (fold, target, model), group in recommendations.groupby([C.fold, C.target, C.model], sort=True):
        ranked = {}
        for uid, user_recs in group.groupby(C.uid):
            user_recs = user_recs[user_recs[C.rank] <= max_k].sort_values(C.rank)
            ranked[uid] = user_recs[C.item_id].tolist()  # in rank order (ranks are 1..n per list)
        for subset in SUBSETS:
            users = users_by_subset.get((fold, target, subset), {})
            if not users:
                continue
            sums = {(m, k): 0.0 for m in ACCURACY_METRICS for k in ks}
            for uid, relevant in users.items():
                user_list = ranked.get(uid, [])
                for k in ks:
                    for metric, fn in METRIC_FUNCTIONS.items():
                        sums[metric, k] += fn(user_list, relevant, k)
            for (metric, k), total in sums.items():
                rows.append((fold, target, model, subset, metric, k, total / len(users), len(users)))
    return pd.DataFrame(rows, columns=ACCURACY_KEYS + ["value", "users"])


def pandas_ndcg_recall(
    recommendations: pd.DataFrame, targets: pd.DataFrame, ks: Sequence[int] = (10, 100)
) -> pd.DataFrame:
    """NDCG@k and Recall@k over all targets only: ``pandas_accuracy``'s ``all`` rows of two metrics.

    Examples
    --------
    >>> recs = pd.DataFrame({"fold": "test", "target": "like", "model": "m", "uid": 1,
    ...                      "item_id": [7, 8], "rank": [1, 2]})
    >>> tg = pd.DataFrame({"fold": "test", "target": "like", "uid": 1, "item_id": [8, 9]})
    >>> out = pandas_ndcg_recall(recs, tg, ks=[10])
    >>> round(out.loc[out.metric == "ndcg", "value"].item(), 6) == round((1 / math.log2(3)) / (1 + 1 / math.log2(3)), 6)
    True
    >>> out.loc[out.metric == "recall", "value"].item()
    0.5
    """
    if C.is_organic not in targets.columns:
        targets = targets.assign(**{C.is_organic: 1})
    out = pandas_accuracy(recommendations, targets, ks)
    out = out[(out["subset"] == "all") & out["metric"].isin(["ndcg", "recall"])]
    return out.drop(columns=["subset"]).reset_index(drop=True)
