"""Uncertainty of the aggregates: bootstrap confidence intervals and paired tests over users.

Both work on the per-user values of one (fold, target, subset): every model is scored on the
same users (a user without recommendations scores 0), so the bootstrap draws ONE set of user
resamples and applies it to every model, metric and cut-off at once (a matrix product), and the
paired tests compare per-user values of two models on the same users.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

_COLUMNS = ["model", "metric", "k"]


def bootstrap_intervals(
    per_user: pd.DataFrame,
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
    key: str = "",
    chunk: int = 200,
) -> pd.DataFrame:
    """Percentile bootstrap intervals of the mean over users, for every (model, metric, k).

    Parameters
    ----------
    per_user
        Rows ``uid, model, metric, k, value`` (and optionally ``weight``) of one (fold, target,
        convention, subset). A (model, metric, k) without a value for a user (e.g. diversity of a
        list with one embedded item) leaves that user out of that mean, exactly like the SQL
        aggregate. With ``weight`` each resample's mean is ``sum(value * weight) / sum(weight)``
        (the paper convention's NDCG, a ratio of sums, is resampled as a ratio).
    samples, confidence
        Number of resamples of the users (with replacement) and the interval's coverage.
    seed, key
        The generator is seeded with ``(seed, crc32(key))``: the same group always gets the same
        resamples, whatever else is evaluated in the same run.
    chunk
        Resamples per matrix product (bounds memory to ``chunk x users`` floats).

    Returns
    -------
    pandas.DataFrame
        ``model, metric, k, ci_low, ci_high``.

    Examples
    --------
    >>> frame = pd.DataFrame({"uid": [1, 2, 3, 4], "model": "m", "metric": "ndcg", "k": 10,
    ...                       "value": [0.0, 1.0, 0.0, 1.0]})
    >>> ci = bootstrap_intervals(frame, samples=500, seed=1)
    >>> bool(0.0 <= ci.ci_low[0] < 0.5 < ci.ci_high[0] <= 1.0)
    True
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}.")
    indexed = per_user.set_index(["uid", *_COLUMNS])
    wide = indexed["value"].unstack(_COLUMNS)
    values = wide.to_numpy(dtype=np.float64)
    present = ~np.isnan(values)
    if "weight" in indexed:  # a weighted mean: sum(value * weight) / sum(weight) per resample
        weight = indexed["weight"].unstack(_COLUMNS).reindex_like(wide).to_numpy(dtype=np.float64)
        present = np.where(present, weight, 0.0)
        values = np.where(present > 0, values, 0.0) * present
    else:
        values = np.where(present, values, 0.0)
        present = present.astype(np.float64)
    n_users = values.shape[0]
    rng = np.random.default_rng([int(seed), zlib.crc32(key.encode())])
    means = np.empty((samples, values.shape[1]))
    rows = np.arange(chunk)[:, None] * n_users
    for start in range(0, samples, chunk):
        size = min(chunk, samples - start)
        draws = rng.integers(0, n_users, size=(size, n_users))
        weights = np.bincount((rows[:size] + draws).ravel(), minlength=size * n_users)
        weights = weights.reshape(size, n_users).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            means[start:start + size] = (weights @ values) / (weights @ present)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
    out = wide.columns.to_frame(index=False)
    out["ci_low"], out["ci_high"] = low, high
    return out


def paired_tests(per_user: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Each model against the best one (highest mean) per (metric, k), on the same users.

    Two-sided Wilcoxon signed-rank test on the per-user differences (zero differences dropped,
    as in Wilcoxon's original method) and a paired t-test; ``p_holm`` is the Wilcoxon p-value
    Holm-adjusted over the models compared within the same (metric, k).

    Parameters
    ----------
    per_user
        Rows ``uid, model, metric, k, value`` of one (fold, target, convention, subset); with a
        ``weight`` column the values are first turned into :func:`weighted_contributions`.
    metrics
        Metrics to test (default: all present). Higher is taken as better.

    Returns
    -------
    pandas.DataFrame
        ``metric, k, model, best_model, mean, best_mean, mean_diff, users, p_wilcoxon,
        p_ttest, p_holm``, one row per model other than the best.
    """
    frame = per_user if metrics is None else per_user[per_user["metric"].isin(metrics)]
    if "weight" in frame:
        frame = weighted_contributions(frame)
    rows = []
    for (metric, k), group in frame.groupby(["metric", "k"], sort=True):
        wide = group.pivot(index="uid", columns="model", values="value").sort_index(axis=1)
        models = list(wide.columns)
        values = wide.to_numpy(dtype=np.float64)
        means = np.nanmean(values, axis=0)
        b = int(np.argmax(means))  # first model in name order on ties
        others = [j for j in range(len(models)) if j != b]
        p_w, p_t, diffs, users = _compare_with(values, b, others)
        tested = [
            [metric, int(k), models[j], models[b], float(means[j]), float(means[b]), diffs[i],
             users[i], p_w[i], p_t[i]]
            for i, j in enumerate(others)
        ]
        for row, adjusted in zip(tested, holm([r[-2] for r in tested]), strict=True):
            rows.append([*row, adjusted])
    columns = ["metric", "k", "model", "best_model", "mean", "best_mean", "mean_diff", "users",
               "p_wilcoxon", "p_ttest", "p_holm"]
    return pd.DataFrame(rows, columns=columns)


def weighted_contributions(per_user: pd.DataFrame) -> pd.DataFrame:
    """``value`` replaced by ``value * weight / mean(weight)`` per (model, metric, k).

    The plain mean of the result is the weighted mean ``sum(value * weight) / sum(weight)``, and
    per-user differences of two models (same users, same weights) average to the difference of
    their weighted means: the paired tests of a ratio of sums (the paper's NDCG) test these.
    Weight 1 leaves the values unchanged.

    >>> frame = pd.DataFrame({"uid": [1, 2], "model": "m", "metric": "ndcg", "k": 10,
    ...                       "value": [1.0, 0.0], "weight": [3.0, 1.0]})
    >>> weighted_contributions(frame)["value"].mean()
    np.float64(0.75)
    """
    mean_weight = per_user.groupby(_COLUMNS)["weight"].transform("mean")
    return per_user.assign(value=per_user["value"] * per_user["weight"] / mean_weight)


def _compare_with(values: np.ndarray, b: int, others: list[int]):
    """p-values, mean differences and user counts of columns ``others`` against column ``b``.

    Without missing values all columns go through scipy at once (vectorised over axis 0);
    columns equal to the best on every user get p = 1.
    """
    n = len(others)
    if n == 0:
        return [], [], [], []
    if not np.isnan(values[:, [b, *others]]).any() and values.shape[0] > 0:
        diff = values[:, others] - values[:, [b]]
        p_w, p_t = np.ones(n), np.ones(n)
        varying = np.flatnonzero(diff.any(axis=0))
        if varying.size:
            p_w[varying] = stats.wilcoxon(diff[:, varying], axis=0, zero_method="wilcox").pvalue
            with np.errstate(invalid="ignore", divide="ignore"):
                p_t[varying] = (stats.ttest_1samp(diff[:, varying], 0.0, axis=0).pvalue
                                if diff.shape[0] > 1 else np.nan)
        return (p_w.tolist(), p_t.tolist(), diff.mean(axis=0).tolist(),
                [int(diff.shape[0])] * n)
    p_w, p_t, diffs, users = [], [], [], []
    for j in others:
        both = ~np.isnan(values[:, j]) & ~np.isnan(values[:, b])
        diff = values[both, j] - values[both, b]
        pw, pt = _paired_p_values(diff)
        p_w.append(pw)
        p_t.append(pt)
        diffs.append(float(np.mean(diff)) if diff.size else np.nan)
        users.append(int(diff.size))
    return p_w, p_t, diffs, users


def _paired_p_values(diff: np.ndarray) -> tuple[float, float]:
    if diff.size == 0:
        return np.nan, np.nan
    if not np.any(diff):
        return 1.0, 1.0  # identical on every user
    p_w = float(stats.wilcoxon(diff, zero_method="wilcox").pvalue)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_t = float(stats.ttest_1samp(diff, 0.0).pvalue) if diff.size > 1 else np.nan
    return p_w, p_t


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjustment (NaN stays NaN and is not counted).

    >>> [round(p, 3) for p in holm([0.01, 0.04, 0.03])]
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[idx]))
        out[idx] = running
    return out.tolist()
