"""Hyperparameter choice on the val fold: a small grid, NDCG@k / Recall@k computed in Python.

The metric follows ../shared/YAMBDA.md: binary relevance over the distinct target items T of a
user, averaged over every user with targets (a user with no recommendations scores 0).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys.candidates.base import CandidateGenerator, Recommendations
from recsys.candidates.data import TrainData
from recsys.candidates.registry import make_generator
from recsys.errors import ConfigError

METRICS = ("ndcg", "recall")


def parse_metric(spec: str) -> tuple[str, int]:
    """``"recall@100"`` -> ``("recall", 100)``."""
    name, _, k = str(spec).partition("@")
    if name not in METRICS or not k.isdigit() or int(k) < 1:
        raise ConfigError(
            f"Tuning metric {spec!r} is not valid; use one of {', '.join(METRICS)} with a cut-off, "
            "e.g. 'recall@100' or 'ndcg@10'."
        )
    return name, int(k)


def evaluate(recs: Recommendations, targets: pd.DataFrame, k: int) -> dict[str, float]:
    """Mean NDCG@k and Recall@k over the users of ``targets`` (distinct ``uid, item_id``).

    >>> recs = Recommendations(np.array([1, 1, 2]), np.array([10, 11, 10]), np.array([2., 1., 1.]))
    >>> targets = pd.DataFrame({"uid": [1, 2, 2], "item_id": [11, 12, 13]})
    >>> m = evaluate(recs, targets, k=10)
    >>> round(m["ndcg"], 6) == round((1 / np.log2(3)) / 1 / 2, 6), m["recall"]
    (True, 0.5)
    """
    targets = targets[["uid", "item_id"]].drop_duplicates()
    sizes = targets.groupby("uid").size()
    ranked = pd.DataFrame({"uid": recs.uid, "item_id": recs.item_id, "rank": recs.ranks()})
    ranked = ranked[ranked["rank"] <= k]
    hits = ranked.merge(targets, on=["uid", "item_id"])
    gains = 1.0 / np.log2(hits["rank"].to_numpy() + 1.0)
    dcg = pd.Series(gains, index=hits["uid"].to_numpy()).groupby(level=0).sum()
    hit_count = hits.groupby("uid").size()
    ideal_cum = np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))
    idcg = pd.Series(ideal_cum[np.minimum(sizes.to_numpy(), k) - 1], index=sizes.index)
    ndcg = (dcg.reindex(sizes.index, fill_value=0.0) / idcg).mean()
    recall = (hit_count.reindex(sizes.index, fill_value=0) / sizes).mean()
    return {"ndcg": float(ndcg), "recall": float(recall)}


def expand_grid(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a ``{param: [values]}`` grid, in a fixed order (keys sorted)."""
    keys = sorted(grid)
    for key in keys:
        if not isinstance(grid[key], list) or not grid[key]:
            raise ConfigError(f"Grid values for '{key}' must be a non-empty list, got {grid[key]!r}.")
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*(grid[k] for k in keys))]


@dataclass
class TuningResult:
    model: str
    params: dict[str, Any]
    metric: str
    value: float
    trials: list[tuple[dict[str, Any], float]]
    best: CandidateGenerator  # fitted on val with ``params``: reused to write val's candidates


def tune_model(
    model: str,
    grid: dict[str, list[Any]],
    data: TrainData,
    targets: pd.DataFrame,
    *,
    metric: str,
    seed: int,
    base_params: dict[str, Any] | None = None,
    on_trial: Callable[[dict[str, Any], float], None] | None = None,
) -> TuningResult:
    """Fit ``model`` on val ``data`` for every grid point; keep the best by ``metric`` (first wins ties)."""
    name, k = parse_metric(metric)
    users = np.unique(targets["uid"].to_numpy()).astype(np.uint32)
    trials: list[tuple[dict[str, Any], float]] = []
    best: tuple[float, CandidateGenerator] | None = None
    fits: dict[tuple, CandidateGenerator] = {}  # one fit per value of the fit-relevant params
    for point in expand_grid(grid) or [{}]:
        params = {**(base_params or {}), **point}
        generator = make_generator(model, seed=seed, params=params)
        fit_key = tuple(sorted((k, repr(v)) for k, v in generator.params.items()
                               if k not in generator.score_params))  # fmt: skip
        if fit_key in fits:
            generator = copy.copy(fits[fit_key])  # same fit, other scoring-only params
            generator.params = {**generator.params, **params}
        else:
            generator = fits[fit_key] = generator.fit(data)
        value = evaluate(generator.recommend(users, k), targets, k)[name]
        trials.append((params, value))
        if best is None or value > best[0]:  # strict: the first of equal values wins
            best = (value, generator)
        if on_trial is not None:
            on_trial(params, value)
    value, generator = best
    return TuningResult(model, dict(generator.params), metric, value, trials, generator)
