"""The two-stage recommender: train a ranker per target on val, re-rank the test candidates.

``run_two_stage`` is the whole stage (what ``recsys evaluate`` calls); ``train_ranker`` and
``rank`` are its two halves (``recsys train-ranker``, ``recsys rank``). Models live in
``<reports_dir>/ranker/<target>.{txt,json}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.ranking.connection import ranking_warehouse
from recsys.ranking.dataset import (
    column_types,
    generators_in,
    load_frame,
    split_users,
    users_with_positive,
)
from recsys.ranking.inputs import ensure_inputs
from recsys.ranking.leakage import check_point_in_time
from recsys.ranking.model import LightGBMRanker, RankerError, top_k_per_user
from recsys.ranking.recall import candidate_recall
from recsys.ranking.settings import RankerConfig, ranker_config
from recsys.ranking.store import (
    write_candidate_recall,
    write_feature_importance,
    write_recommendations,
)

TRAIN_FOLD = "val"


def model_dir(settings: Settings) -> Path:
    """Where trained rankers are saved: ``<reports_dir>/ranker``."""
    return settings.reports_dir / "ranker"


def merged_models(config: Mapping[str, Any], cfg: RankerConfig) -> list[str]:
    """Generators whose candidates are merged: ``ranker.models``, else ``candidates.models``."""
    if cfg.models is not None:
        return list(cfg.models)
    return list((config.get("candidates") or {}).get("models") or [])


def _train_one(con, settings, config, cfg, target, fold, progress) -> dict[str, Any]:
    models = merged_models(config, cfg) or generators_in(list(column_types(con, Tables.candidate_features)))
    check_point_in_time(con, fold)
    frame = load_frame(
        con, fold, target, models=models, per_model=cfg.candidates_per_model,
        exclude=cfg.exclude_features,
    )
    users_total = len(frame.group_sizes())
    frame = frame.take(users_with_positive(frame))
    if len(frame) == 0:
        raise RankerError(
            f"No {fold} user has a {target} target among the merged candidates, so there is nothing "
            "to learn. Check candidate recall (more generators or a larger ranker.candidates_per_model)."
        )
    train_mask, valid_mask = split_users(frame, cfg.valid_share, cfg.seed)
    train, valid = frame.take(train_mask), frame.take(valid_mask)
    ranker = LightGBMRanker(
        cfg.lightgbm_params(), frame.feature_names, num_boost_round=cfg.num_boost_round,
        early_stopping_rounds=cfg.early_stopping_rounds,
    )
    bar = tqdm(total=cfg.num_boost_round, desc=f"ranker {target}", disable=not progress, leave=False)
    with bar:
        ranker.fit(
            train.features, train.labels, train.group_sizes(),
            valid=(valid.features, valid.labels, valid.group_sizes()) if len(valid) else None,
            on_iteration=lambda: bar.update(1),
        )
    gains = ranker.feature_importance()
    metadata = {
        "target": target,
        "train_fold": fold,
        "models": models,
        "candidates_per_model": cfg.candidates_per_model,
        "seed": cfg.seed,
        "ranker_config": asdict(cfg),
        "config": dict(config),
        "size": settings.size,
    }
    model_path, _ = ranker.save(model_dir(settings) / target, metadata)
    write_feature_importance(con, target, gains)
    valid_ndcg = None
    if ranker.booster is not None and ranker.booster.best_score:
        valid_ndcg = float(next(iter(ranker.booster.best_score.get("valid", {}).values()), np.nan))
    return {
        "target": target,
        "model_path": str(model_path),
        "models": models,
        "candidates_per_model": cfg.candidates_per_model,
        "rows": int(len(frame)),
        "users": int(len(frame.group_sizes())),
        "users_without_positive": int(users_total - len(frame.group_sizes())),
        "train_users": int(len(train.group_sizes())),
        "valid_users": int(len(valid.group_sizes())),
        "positive_rate": float(frame.labels.mean()),
        "best_iteration": ranker.best_iteration,
        # LightGBM's NDCG@10 on the held-out val users, over their candidate lists
        "heldout_ndcg@10": valid_ndcg,
        "feature_importance": dict(sorted(gains.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def train_ranker(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    targets: Sequence[str] = TARGETS,
    fold: str = TRAIN_FOLD,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train one LambdaRank model per target on ``fold`` (val) and save it with its feature list.

    Needs ``candidate_features`` and ``eval_targets`` for ``fold``. Writes
    ``<reports_dir>/ranker/<target>.{txt,json}`` and ``ranker_feature_importance``. Returns a
    summary per target (rows, users, best iteration, held-out NDCG@10, feature gains).
    """
    cfg = ranker_config(config)
    out = {}
    with ranking_warehouse(settings) as con:
        for target in targets:
            out[target] = _train_one(con, settings, config, cfg, target, fold, progress)
    return out


def _rank_one(con, settings, cfg, target, fold) -> dict[str, Any]:
    ranker, meta = LightGBMRanker.load(model_dir(settings) / target)
    models, per_model = meta["models"], int(meta["candidates_per_model"])
    check_point_in_time(con, fold)
    frame = load_frame(con, fold, target, models=models, per_model=per_model, features=ranker.feature_names)
    scores = ranker.predict(frame.features) if len(frame) else np.zeros(0)
    order, ranks = top_k_per_user(frame.uids, frame.item_ids, scores, cfg.top_k)
    recs = pd.DataFrame(
        {
            "fold": fold,
            "target": target,
            "model": cfg.model_name,
            "uid": frame.uids[order],
            "item_id": frame.item_ids[order],
            "rank": ranks.astype(np.int32),
            "score": scores[order],
        }
    )
    written = write_recommendations(con, recs, fold, target, cfg.model_name)
    recall = candidate_recall(con, fold, target, models, per_model)
    write_candidate_recall(con, recall, fold, target)
    return {
        "target": target,
        "fold": fold,
        "candidates": int(len(frame)),
        "users": int(len(frame.group_sizes())),
        "recommendations": int(written),
        "candidate_recall": dict(zip(recall["source"], recall["recall"].astype(float), strict=True)),
        "targets": int(recall["targets"].iloc[0]) if len(recall) else 0,
    }


def rank(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    fold: str = "test",
    targets: Sequence[str] = TARGETS,
    progress: bool = True,
) -> dict[str, dict[str, Any]]:
    """Score ``fold``'s candidates with the saved rankers, write top-k to ``recommendations``.

    Also writes ``candidate_recall`` for ``fold``. Returns a summary per target.
    """
    cfg = ranker_config(config)
    out = {}
    with ranking_warehouse(settings) as con:
        for target in tqdm(targets, desc=f"rank {fold}", disable=not progress, leave=False):
            out[target] = _rank_one(con, settings, cfg, target, fold)
    return out


def run_two_stage(
    settings: Settings,
    config: Mapping[str, Any],
    fold: str = "test",
    targets: Sequence[str] = TARGETS,
    progress: bool = True,
) -> dict[str, Any]:
    """The whole two-stage recommender: candidates, features, training on val, ranking ``fold``.

    Runs the candidate generators for val and ``fold`` and rebuilds the ``candidate_features``
    mart when they are missing or stale, trains one ranker per target on val, writes ``fold``'s
    top-k as model ``ranker.model_name`` (``two_stage``) to ``recommendations`` and the
    ``candidate_recall`` / ``ranker_feature_importance`` tables.

    Returns
    -------
    dict
        ``{"model": ..., "inputs": ..., "train": {target: ...}, "rank": {target: ...}}`` with
        rows, users, best iteration, candidate recall per source and feature gains per target.
    """
    cfg = ranker_config(config)
    targets = tuple(targets)
    folds = tuple(dict.fromkeys((TRAIN_FOLD, fold)))
    inputs = ensure_inputs(
        settings, config, folds=folds, targets=targets, models=merged_models(config, cfg),
        progress=progress,
    )
    train = train_ranker(settings, config, targets=targets, progress=progress)
    ranked = rank(settings, config, fold=fold, targets=targets, progress=progress)
    if fold != TRAIN_FOLD:
        # recall on val too: how much the ranker could learn from
        with ranking_warehouse(settings) as con:
            for target in targets:
                meta = train[target]
                recall = candidate_recall(
                    con, TRAIN_FOLD, target, meta["models"], meta["candidates_per_model"]
                )
                write_candidate_recall(con, recall, TRAIN_FOLD, target)
    return {"model": cfg.model_name, "fold": fold, "inputs": inputs, "train": train, "rank": ranked}
