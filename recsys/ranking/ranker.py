"""The ranker of the two-stage recommender: train one per target on the training folds, re-rank
a fold's candidates with it.

``train_ranker`` and ``rank`` read ``candidate_features`` as it is (``recsys.pipeline`` makes
sure it is fresh first: ``recsys train-ranker``, ``recsys rank``, ``recsys evaluate``). Models live
in ``<reports_dir>/ranker/<ranker.model_name>/<target>.{txt,json}``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa

from recsys import state
from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.progress import progress_bar
from recsys.protocol import TEST_FOLD, VAL_FOLD
from recsys.ranking.connection import ranking_warehouse
from recsys.ranking.dataset import (
    column_types,
    generators_in,
    load_frame,
)
from recsys.ranking.leakage import check_point_in_time
from recsys.ranking.model import FORMAT_VERSION, LightGBMRanker, RankerError, top_k_per_user
from recsys.ranking.recall import candidate_recall
from recsys.ranking.training import (
    check_train_folds,
    heldout_metrics,
    load_training_set,
)
from recsys.run_lock import holds_run_lock
from recsys.sections.ranker import DEFAULT_MODEL_NAME, RankerConfig
from recsys.tables import (
    ranked_table,
    write_candidate_recall,
    write_feature_importance,
    write_recommendations,
)
from recsys.warehouse import table_exists

# users whose candidates are read and scored at a time by ``rank`` (~1000 candidates x ~110
# float32 features each: ~0.9 GB per block)
RANK_BLOCK_USERS = 2000


def model_dir(settings: Settings, name: str = DEFAULT_MODEL_NAME) -> Path:
    """Where the rankers of two-stage model ``name`` are saved: ``<reports_dir>/ranker/<name>``."""
    return settings.reports_dir / "ranker" / name


def merged_models(config: PipelineConfig | Mapping[str, Any]) -> list[str]:
    """Generators whose candidates are merged: ``ranker.models``, else ``candidates.models``."""
    return as_config(config).merged_models


def val_candidate_sources(config: PipelineConfig | Mapping[str, Any]) -> list[str]:
    """The ranker's sources whose val candidates the tuning stage writes from its chosen fit
    (when the ranker trains on val); none when the two-stage model is off."""
    config = as_config(config)
    return merged_models(config) if VAL_FOLD in config.ranker.train_folds else []


def _train_one(con, settings, config, cfg, target, progress, record) -> dict[str, Any]:
    models = merged_models(config) or generators_in(list(column_types(con, Tables.candidate_features)))
    for fold in cfg.train_folds:
        check_point_in_time(con, fold)
    inputs = _training_inputs(con, cfg, target, models)
    saved = _saved_training(settings, cfg.model_name, target, inputs)
    if saved is not None:  # trained on the same inputs: nothing to learn again
        return saved
    frame, valid_mask, plan = load_training_set(con, target, cfg, models, exclude=cfg.exclude_features)
    train, valid = frame.take(~valid_mask), frame.take(valid_mask)
    del frame
    ranker = LightGBMRanker(
        cfg.lightgbm_params(), train.feature_names, num_boost_round=cfg.num_boost_round,
        early_stopping_rounds=cfg.early_stopping_rounds,
    )
    bar = progress_bar(total=cfg.num_boost_round, desc=f"ranker {target}", disable=not progress, leave=False)
    with bar:
        ranker.fit(
            train.features, train.labels, train.group_sizes(),
            valid=(valid.features, valid.labels, valid.group_sizes()) if len(valid) else None,
            on_iteration=lambda: bar.update(1),
        )
        if bar.n < cfg.num_boost_round:
            bar.set_postfix_str(f"early stopping: no held-out NDCG gain for "
                                f"{cfg.early_stopping_rounds} rounds, best iteration {ranker.best_iteration}")
    gains = ranker.feature_importance()
    scores = ranker.predict(valid.features) if len(valid) else np.zeros(0)
    heldout = heldout_metrics(con, target, plan, valid, scores, recall_k=cfg.top_k)
    slots, by_slots = _choose_slots(con, cfg, target, plan, valid, scores)
    valid_ndcg = None
    if ranker.booster is not None and ranker.booster.best_score:
        valid_ndcg = float(next(iter(ranker.booster.best_score.get("valid", {}).values()), np.nan))
    summary = {
        "target": target,
        "models": models,
        "candidates_per_model": cfg.candidates_per_model,
        "train_folds": list(cfg.train_folds),
        "rows": int(len(train) + len(valid)),
        # (fold, user) queries with a positive candidate, before max_train_queries
        "queries_available": int(plan.candidates),
        "train_queries": {f: int(len(plan.train[f])) for f in plan.folds},
        "valid_queries": {f: int(len(plan.valid[f])) for f in plan.folds},
        "positive_rate": float(
            (train.labels.sum() + valid.labels.sum()) / max(1, len(train) + len(valid))
        ),
        "best_iteration": ranker.best_iteration,
        # LightGBM's NDCG@10 on the held-out users with a target among their candidates (the
        # ideal list from the candidates alone)
        "heldout_ndcg@10": valid_ndcg,
        # NDCG@10 of every held-out user against all their targets (ranking.training.heldout_metrics):
        # what compares rankers on different candidates
        "val_ndcg@10": None if heldout is None else heldout["ndcg@10"],
        # places kept for unseen items, chosen on the held-out users' Recall@top_k; per option
        # that recall, its repeat and its discovery part
        "discovery_slots": slots,
        f"val_recall@{cfg.top_k}_by_discovery_slots": by_slots,
        "feature_importance": dict(sorted(gains.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    metadata = {
        "target": target,
        "train_folds": list(cfg.train_folds),
        "models": models,
        "candidates_per_model": cfg.candidates_per_model,
        "seed": cfg.seed,
        "ranker_config": asdict(cfg),
        "config": config.raw,
        "size": settings.size,
        "build": state.current_build(con),  # the warehouse build it learned from
        "inputs": inputs,  # what it learned from (_training_inputs): equal inputs reuse it
        "summary": summary,
    }
    model_path, _ = ranker.save(model_dir(settings, cfg.model_name) / target, metadata)
    if record:
        write_feature_importance(con, target, gains)
    return {**summary, "model_path": str(model_path), "reused": False}


def _choose_slots(con, cfg: RankerConfig, target: str, plan, valid, scores
                  ) -> tuple[int, dict[str, dict[str, float]]]:
    """The ``ranker.discovery_slots`` option with the highest held-out Recall@top_k (ties: the
    smaller), and per option that recall with its repeat and discovery parts (what the choice
    trades); 0 when the mart does not say which items are unseen."""
    if len(cfg.discovery_slots) == 1 or valid.unseen is None:
        return cfg.discovery_slots[0] if valid.unseen is not None else 0, {}
    found = {}
    for slots in cfg.discovery_slots:
        out = heldout_metrics(con, target, plan, valid, scores, recall_k=cfg.top_k, slots=slots)
        found[str(slots)] = {} if out is None else {
            name: out[f"{name}@{cfg.top_k}"] for name in ("recall", "repeat_recall", "discovery_recall")}
    best = max(cfg.discovery_slots, key=lambda s: (found[str(s)].get("recall") or 0.0, -s))
    return best, found


def _training_inputs(con, cfg: RankerConfig, target: str, models: Sequence[str]) -> str | None:
    """The fingerprint of what a ranker of ``target`` learns from: the build, the candidate
    mart's vars, the candidates slices of every training fold and merged generator, the ranker's
    settings, LightGBM's version and the schema version. None when a slice has no record."""
    slices = {}
    for fold in cfg.train_folds:
        for model in models:
            fp = state.recorded(con, Tables.candidates, {"fold": fold, "target": target, "model": model})
            if fp is None:
                return None
            slices[f"{fold}/{model}"] = fp
    return state.digest({
        "build": state.current_build(con), "mart": state.recorded(con, Tables.candidate_features, {}),
        "candidates": slices, "models": list(models), "ranker": asdict(cfg),
        "lightgbm": lgb.__version__, "format": FORMAT_VERSION, "schema": state.SCHEMA_VERSION})


def _saved_training(settings: Settings, name: str, target: str, inputs: str | None
                    ) -> dict[str, Any] | None:
    """The summary of the saved ranker ``name`` of ``target`` when it was trained on ``inputs``."""
    stem = model_dir(settings, name) / target
    if inputs is None or not stem.with_suffix(".txt").is_file() or not stem.with_suffix(".json").is_file():
        return None
    try:
        meta = json.loads(stem.with_suffix(".json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("inputs") != inputs or not isinstance(meta.get("summary"), dict):
        return None
    return {**meta["summary"], "model_path": str(stem.with_suffix(".txt")), "reused": True}


@holds_run_lock("recsys train-ranker")
def train_ranker(
    settings: Settings,
    config: PipelineConfig | Mapping[str, Any],
    *,
    targets: Sequence[str] = TARGETS,
    progress: bool = True,
    record: bool = True,
) -> dict[str, dict[str, Any]]:
    """Train one LambdaRank model per target on ``ranker.train_folds`` and save it.

    Reads ``candidate_features`` as it is (``recsys.pipeline.train_ranker_stage`` fits what is
    missing first). Writes ``<reports_dir>/ranker/<model_name>/<target>.{txt,json}`` and, with
    ``record`` (the headline ranker, not a comparison one), ``ranker_feature_importance``.
    Returns a summary per target (rows, queries per fold, best iteration, held-out NDCG@10,
    feature gains).
    """
    config = as_config(config)
    cfg = config.ranker
    out = {}
    with ranking_warehouse(settings) as con:
        check_train_folds(con, cfg.train_folds)
        for target in tuple(targets):
            out[target] = _train_one(con, settings, config, cfg, target, progress, record)
    return out


def two_stage_fingerprint(con, settings: Settings, fold: str, target: str, top_k: int,
                          name: str = DEFAULT_MODEL_NAME) -> str | None:
    """What the lists of two-stage model ``name`` of (fold, target) are computed from: its saved
    ranker (the model file) and the candidates slices of the generators it merges."""
    stem = model_dir(settings, name) / target
    if not stem.with_suffix(".txt").is_file() or not stem.with_suffix(".json").is_file():
        return None
    meta = json.loads(stem.with_suffix(".json").read_text())
    model_sha = hashlib.sha256(stem.with_suffix(".txt").read_bytes()).hexdigest()
    return state.recommendation_fingerprint(
        con, fold, target, meta.get("models") or [], top_k,
        extra={"ranker": model_sha, "candidates_per_model": meta.get("candidates_per_model"),
               "discovery_slots": (meta.get("summary") or {}).get("discovery_slots") or 0})


def _rank_one(con, settings, cfg, target, fold, record) -> dict[str, Any]:
    ranker, meta = LightGBMRanker.load(model_dir(settings, cfg.model_name) / target)
    if meta.get("build") != state.current_build(con):
        raise RankerError(
            f"The saved {target} ranker in {model_dir(settings, cfg.model_name)} was trained on another build of "
            f"the warehouse {settings.warehouse} (other input files or dbt vars); train it again "
            "on this one: `recsys train-ranker` (or `recsys evaluate`)."
        )
    models, per_model = meta["models"], int(meta["candidates_per_model"])
    slots = int((meta.get("summary") or {}).get("discovery_slots") or 0)
    now = two_stage_fingerprint(con, settings, fold, target, cfg.top_k, cfg.model_name)
    key = {"fold": fold, "target": target, "model": cfg.model_name}
    if now is not None and state.recorded(con, Tables.recommendations, key) == now:
        # a comparison ranker's candidate recall is not in the warehouse: counted again
        before = _ranked_before(con, fold, target, cfg.model_name, None if record else
                                candidate_recall(con, fold, target, models, per_model))
        if before is not None:
            return before
    check_point_in_time(con, fold)
    # every user with candidates: on the evaluated fold the generators serve every user with
    # target-type history (the paper's Coverage counts them all), evaluated or not
    users = con.execute(
        f"select distinct uid from {Tables.candidate_features} where fold = ? and target = ? "
        "order by uid", [fold, target]
    ).fetchnumpy()["uid"]
    parts, candidates, queries = [], 0, 0
    # users in blocks: memory ~ one block's feature matrix, whatever the number of users
    for start in range(0, max(len(users), 1), RANK_BLOCK_USERS):
        frame = load_frame(
            con, fold, target, models=models, per_model=per_model, features=ranker.feature_names,
            uids=users[start:start + RANK_BLOCK_USERS],
        )
        scores = ranker.predict(frame.features) if len(frame) else np.zeros(0)
        order, ranks = top_k_per_user(frame.uids, frame.item_ids, scores, cfg.top_k,
                                      unseen=frame.unseen, slots=slots)
        candidates += len(frame)
        queries += len(frame.group_sizes())
        parts.append(ranked_table(fold, target, cfg.model_name, frame.uids[order],
                                  frame.item_ids[order], ranks.astype(np.int32), scores[order]))
        del frame, scores
    written = write_recommendations(con, pa.concat_tables(parts), fold, target, cfg.model_name,
                                    two_stage_fingerprint(con, settings, fold, target, cfg.top_k,
                                                          cfg.model_name))
    recall = candidate_recall(con, fold, target, models, per_model)
    if record:
        write_candidate_recall(con, recall, fold, target)
    return {
        "target": target,
        "fold": fold,
        "candidates": int(candidates),
        "users": int(queries),
        "recommendations": int(written),
        "candidate_recall": dict(zip(recall["source"], recall["recall"].astype(float), strict=True)),
        "targets": int(recall["targets"].iloc[0]) if len(recall) else 0,
    }


def _ranked_before(con, fold: str, target: str, model: str, recall: pd.DataFrame | None = None
                   ) -> dict[str, Any] | None:
    """The summary of lists ranked before from the same ranker and candidates (``reused``), with
    ``recall`` (default: read from ``candidate_recall``); None when that table lacks it."""
    if recall is None and not table_exists(con, Tables.candidate_recall):
        return None
    written = con.execute(f"select count(*), count(distinct uid) from {Tables.recommendations} "
                          "where fold = ? and target = ? and model = ?",
                          [fold, target, model]).fetchone()
    recall = con.execute(f"select source, recall, targets from {Tables.candidate_recall} "
                         "where fold = ? and target = ?", [fold, target]).fetchall() \
        if recall is None else list(recall[["source", "recall", "targets"]].itertuples(index=False))
    return {"target": target, "fold": fold, "candidates": None, "users": int(written[1]),
            "recommendations": int(written[0]), "reused": True,
            "candidate_recall": {source: float(value) for source, value, _ in recall},
            "targets": int(recall[0][2])} if recall else None


@holds_run_lock("recsys rank")
def rank(
    settings: Settings,
    config: PipelineConfig | Mapping[str, Any],
    *,
    fold: str = TEST_FOLD,
    targets: Sequence[str] = TARGETS,
    progress: bool = True,
    record: bool = True,
) -> dict[str, dict[str, Any]]:
    """Score ``fold``'s candidates with the saved rankers, write top-k to ``recommendations``.

    With ``record`` (the headline ranker) also writes ``candidate_recall`` for ``fold``. Returns a summary per target. Lists whose
    recorded fingerprint is what the saved ranker and the candidates give now are kept
    (``"reused": True`` in their summary).
    """
    cfg = as_config(config).ranker
    out = {}
    with ranking_warehouse(settings) as con:
        for target in progress_bar(targets, desc=f"rank {fold}", disable=not progress, leave=False):
            out[target] = _rank_one(con, settings, cfg, target, fold, record)
    return out
