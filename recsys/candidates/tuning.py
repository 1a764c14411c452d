"""Hyperparameter choice on the val fold: Optuna over a search space, NDCG@k / Recall@k in Python.

The objective follows ../shared/YAMBDA.md's standard convention: binary relevance over the distinct
target items T of a user, averaged over every val user with targets (a user with no
recommendations scores 0). The official code tunes NDCG@100 on the validation day with Optuna, 10
trials per model at 50m; so does the default config.

The default fit's point (the generator's defaults, overridden by ``candidates.params``) is the
first trial whenever it lies in the space, so a tuned generator never scores below its default on
the val data it was tuned on. Scoring-only parameters (``exclude_seen``) reuse one fit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
import pandas as pd

from recsys.candidates.base import CandidateGenerator, Recommendations
from recsys.candidates.data import TrainData
from recsys.candidates.registry import GENERATORS, make_generator
from recsys.errors import ConfigError
from recsys.sections import search_space
from recsys.sections.candidates import parse_metric
from recsys.sections.generators import searched_space

METRICS = ("ndcg", "recall")

optuna.logging.set_verbosity(optuna.logging.WARNING)


def evaluate(recs: Recommendations, targets: pd.DataFrame, k: int) -> dict[str, float]:
    """Mean NDCG@k and Recall@k over the users of ``targets`` (distinct ``uid, item_id``).

    >>> recs = Recommendations(np.array([1, 1, 2]), np.array([10, 11, 10]), np.array([2., 1., 1.]))
    >>> targets = pd.DataFrame({"uid": [1, 2, 2], "item_id": [11, 12, 13]})
    >>> m = evaluate(recs, targets, k=10)
    >>> bool(round(m["ndcg"], 6) == round((1 / np.log2(3)) / 1 / 2, 6)), m["recall"]
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


def _suggest(trial: optuna.Trial, name: str, dist: optuna.distributions.BaseDistribution) -> Any:
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


@dataclass
class TuningResult:
    model: str
    params: dict[str, Any]  # every parameter of the chosen point (defaults filled in)
    metric: str
    value: float  # the objective of the chosen point on val
    default_value: float | None  # the objective of the default fit's point, when in the space
    trials: list[tuple[dict[str, Any], float]]
    sampler: str  # "grid" or "tpe"
    # the chosen point's fitted generator (its ``data`` is the val-user restriction when the
    # generator is ``user_local``): the val fold's candidates come from it without a refit
    fitted: CandidateGenerator | None = None


def tune_model(
    model: str,
    space: Mapping[str, Any] | None,
    data: TrainData,
    targets: pd.DataFrame,
    *,
    metric: str,
    trials: int,
    seed: int,
    base_params: Mapping[str, Any] | None = None,
    on_trial: Callable[[dict[str, Any], float], None] | None = None,
) -> TuningResult:
    """Fit ``model`` on val ``data`` for each sampled point; keep the best by ``metric``.

    ``base_params`` (``candidates.params.<model>``) are fixed and never searched. With a grid of
    at most ``trials`` points every point is tried once (Optuna's GridSampler, seeded order);
    otherwise a seeded TPE sampler draws ``trials`` points, the first being the default fit's
    point when it lies in the space. Ties keep the earliest trial.
    """
    name, k = parse_metric(metric)
    if int(trials) < 1:
        raise ConfigError(f"candidates.tuning.trials must be >= 1, got {trials!r}.")
    base = dict(base_params or {})
    dists = searched_space(model, space, base)
    users = np.unique(targets["uid"].to_numpy()).astype(np.uint32)
    if GENERATORS[model].user_local:
        data = data.restrict_users(users)  # same scores for these users, a fraction of the fit
    defaults = {**GENERATORS[model].defaults, **base}
    default_point = {p: defaults[p] for p in dists if search_space.contains(dists[p], defaults[p])}
    points = search_space.grid(dists)
    if points is not None and search_space.grid_size(points) <= int(trials):
        sampler: optuna.samplers.BaseSampler = optuna.samplers.GridSampler(points, seed=seed)
        n_trials, kind = search_space.grid_size(points), "grid"
    else:
        sampler, n_trials, kind = optuna.samplers.TPESampler(seed=seed), int(trials), "tpe"
    study = optuna.create_study(direction="maximize", sampler=sampler)
    if kind == "tpe" and len(default_point) == len(dists) and dists:
        study.enqueue_trial(default_point)
    fits: dict[tuple, CandidateGenerator] = {}  # one fit per value of the fit-relevant params
    history: list[tuple[dict[str, Any], float]] = []
    chosen: list[CandidateGenerator] = []  # the best so far (the earliest of ties)

    def objective(trial: optuna.Trial) -> float:
        point = {p: _suggest(trial, p, d) for p, d in dists.items()}
        params = {**base, **point}
        generator = make_generator(model, seed=seed, params=params)
        fit_key = tuple(sorted((p, repr(v)) for p, v in generator.params.items()
                               if p not in generator.score_params))  # fmt: skip
        if fit_key in fits:
            generator = copy.copy(fits[fit_key])  # same fit, other scoring-only params
            generator.params = {**generator.params, **params}
        else:
            generator = fits[fit_key] = generator.fit(data)
        value = evaluate(generator.recommend(users, k), targets, k)[name]
        if not history or value > max(v for _, v in history):
            chosen[:] = [generator]
        history.append((dict(generator.params), value))
        if on_trial is not None:
            on_trial(params, value)
        return value

    study.optimize(objective, n_trials=n_trials if dists else 1)
    best = max(range(len(history)), key=lambda i: (history[i][1], -i))  # earliest of the best
    default_value = next((v for p, v in history
                          if all(search_space._same(p[q], defaults[q]) for q in dists)), None)
    return TuningResult(model, history[best][0], metric, history[best][1], default_value,
                        history, kind, chosen[0])
