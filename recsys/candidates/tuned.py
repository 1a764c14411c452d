"""The tuning stage: hyperparameters chosen on val, reused while their inputs stay the same.

``ensure_tuned`` tunes every generator with a search space (``candidates.tuning.search_space``)
on the val fold, per target, unless ``candidate_params`` already holds a row for the same
fingerprint: a hash of the input files (parquet footers), the val fold's definition, the search
space, the trial budget, the objective, the val-user sample, the seed and the fixed
``candidates.params``. A change of any of them tunes again; candidates fitted with the old values
are dropped so no stage reads them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from recsys import state, tables
from recsys.candidates import store
from recsys.candidates.registry import generator_class, make_generator
from recsys.candidates.tuning import tune_model
from recsys.columns import Tables
from recsys.config import Settings
from recsys.pipeline_config import PipelineConfig, TuningConfig, as_config
from recsys.progress import progress_bar
from recsys.protocol import VAL_FOLD, listen_plus_threshold
from recsys.run_lock import holds_run_lock
from recsys.sections import search_space
from recsys.sections.generators import DISCOVERY, base_name, searched_space
from recsys.warehouse import open_warehouse, require_tables

# bump when the tuning procedure changes what a fingerprint's parameters would be
TUNING_VERSION = 1


@dataclass
class TunedModel:
    """One (target, model) of the tuning stage."""

    target: str
    model: str
    params: dict[str, Any]
    metric: str
    value: float
    default_value: float | None
    trials: int
    sampler: str
    seconds: float
    reused: bool  # found in candidate_params for the same fingerprint: nothing was fitted
    val_candidates: bool = False  # the val fold's candidates were written from the chosen fit


def tuned_models(config: PipelineConfig | dict, models: Sequence[str]) -> list[str]:
    """The generators that get tuned: those with a non-empty search space (``random`` never)."""
    return as_config(config).candidates.tunable(models)


def planned_trials(cfg: TuningConfig, model: str, explicit: dict, target: str | None = None) -> int:
    """Trials the search will run: the grid's size when it is searched whole, else the budget."""
    budget = cfg.trials_of(model, target)
    points = search_space.grid(searched_space(model, cfg.search_space.get(model), explicit))
    return search_space.grid_size(points) if points and search_space.grid_size(points) <= budget else budget


def tuning_enabled(config: PipelineConfig | dict) -> bool:
    return as_config(config).candidates.tune


def fingerprint(con: duckdb.DuckDBPyConnection, data_hash: str, config: PipelineConfig | dict,
                target: str, model: str) -> str:
    """The hash of everything the tuned values of (target, model) depend on."""
    config = as_config(config)
    cfg = config.candidates.tuning
    row = con.execute(
        f"select history_end_ts, target_start_ts, target_end_ts from {Tables.folds} where fold = ?",
        [VAL_FOLD],
    ).fetchone()
    inputs = {
        "version": TUNING_VERSION, "data": data_hash, "val_fold": list(row) if row else None,
        "target": target, "model": model, "space": cfg.search_space.get(model),
        "trials": cfg.trials_of(model, target), "metric": cfg.metric, "max_users": cfg.max_users,
        "seed": config.seed, "params": config.candidates.params_of(model),
        "listen_plus_threshold": listen_plus_threshold(),
        "targets": "discovery" if model in DISCOVERY else "all",
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


data_hash = state.data_hash  # the input files' fingerprint (their parquet footers)


def resolve_params(con: duckdb.DuckDBPyConnection, config: PipelineConfig | dict, target: str,
                   model: str, data_fingerprint: str) -> dict[str, Any]:
    """Defaults, then the values tuned on these inputs (when tuning is on), then the config's
    explicit ``candidates.params.<model>``. An untuned variant (``ials_untuned``) gets its
    generator's defaults and explicit params, never tuned values."""
    config = as_config(config)
    explicit = config.candidates.params_of(base_name(model))
    tuned = {}
    if tuning_enabled(config) and model in tuned_models(config, [model]):
        tuned = store.tuned_params(con, target, model,
                                   fingerprint(con, data_fingerprint, config, target, model)) or {}
    return {**generator_class(model).defaults, **tuned, **explicit}


def _val_targets(con, target: str, max_users: int | None, seed: int, *, discovery: bool = False
                 ) -> pd.DataFrame:
    """Val's targets the objective scores (only the discovery targets for a discovery source),
    of at most ``max_users`` seeded users (the same users for every model)."""
    targets = store.eval_targets(con, VAL_FOLD, target)
    users = np.unique(targets["uid"].to_numpy())
    if max_users is not None and len(users) > max_users:
        keep = np.random.default_rng([seed, 7]).choice(users, size=max_users, replace=False)
        targets = targets[targets["uid"].isin(keep)]
    return targets[targets["is_repeat"] == 0] if discovery else targets


@holds_run_lock("recsys tune")
def ensure_tuned(
    settings: Settings,
    config: PipelineConfig | dict,
    *,
    targets: Sequence[str],
    models: Sequence[str],
    val_candidates: Sequence[str] = (),
    progress: bool = True,
) -> list[TunedModel]:
    """Tune on val every (target, model) that has no valid tuned values; reuse the others.

    A retuned (target, model) loses its ``candidates`` (fitted with other values). For the models
    in ``val_candidates`` (the ranker's sources when it trains on val) the val fold's slice is
    written at once from the chosen point's fit, as ``recsys candidates --fold val`` would write
    it: the same parameters, seed, data and users, without fitting again.
    """
    # the runner's shared data loading and candidate writer
    from recsys.candidates.runner import fold_data_loader, write_fitted

    config = as_config(config)
    cfg = config.candidates.tuning
    seed = config.seed
    wanted = tuned_models(config, models)
    out: list[TunedModel] = []
    if not wanted:
        return out
    with open_warehouse(settings) as con:
        digest = data_hash(settings)
        require_tables(con, Tables.folds, Tables.train_interactions, Tables.eval_targets)
        for target in targets:
            todo = []
            saved = store.tuning_rows(con)
            for model in wanted:
                key = fingerprint(con, digest, config, target, model)
                hit = saved[(saved["target"] == target) & (saved["model"] == model)
                            & (saved["fingerprint"] == key)]
                if len(hit):
                    r = hit.iloc[0]
                    out.append(TunedModel(
                        target, model, json.loads(r["params"]), r["metric"], float(r["value"]),
                        None if pd.isna(r["default_value"]) else float(r["default_value"]),
                        int(r["trials"]), r["sampler"], float(r["seconds"]), reused=True))
                else:
                    todo.append((model, key))
            if not todo:
                continue
            load = fold_data_loader(con, config, [m for m, _ in todo], target)
            data = load(VAL_FOLD)
            for model, key in todo:
                val_targets = _val_targets(con, target, cfg.max_users, seed,
                                           discovery=model in DISCOVERY)
                start = time.perf_counter()
                with progress_bar(total=planned_trials(cfg, model, config.candidates.params_of(model), target),
                          desc=f"tune val/{target} {model}",
                          disable=not progress, leave=False) as bar:
                    result = tune_model(
                        model, cfg.search_space.get(model), data, val_targets,
                        metric=cfg.metric, trials=cfg.trials_of(model, target), seed=seed,
                        base_params=config.candidates.params.get(model), on_trial=lambda p, v, bar=bar: bar.update(1),
                    )  # fmt: skip
                    bar.set_postfix_str(f"best {result.metric} {result.value:.4f}")
                seconds = time.perf_counter() - start
                tables.write_candidate_params(
                    con, target, model, result.params, fingerprint=key, metric=result.metric,
                    value=result.value, default_value=result.default_value,
                    trials=len(result.trials), sampler=result.sampler, seed=seed, seconds=seconds,
                    tuned_on=VAL_FOLD,
                )  # fmt: skip
                store.drop_candidate_slices(con, target, model)
                if model in set(val_candidates):
                    _write_val_candidates(con, config, result, data, write_fitted, progress)
                out.append(TunedModel(target, model, result.params, result.metric, result.value,
                                      result.default_value, len(result.trials), result.sampler,
                                      seconds, reused=False,
                                      val_candidates=model in set(val_candidates)))
    return out


def _write_val_candidates(con, config: PipelineConfig, result, data, write_fitted,
                          progress: bool) -> None:
    """The val slice of ``candidates`` from the tuning's chosen fit (refit only when that fit saw
    the sampled users alone: ``user_local`` generators)."""
    start = time.perf_counter()
    generator = result.fitted
    users = store.candidate_users(con, config, VAL_FOLD, data.target, every_user=False)
    with progress_bar(total=len(users), desc=f"val/{data.target} {result.model} (tuned fit)", unit="user",
              disable=not progress, leave=False) as bar:  # fmt: skip
        if generator is None or generator.data is not data:
            bar.set_postfix_str("fitting")
            generator = make_generator(result.model, seed=config.seed,
                                       params=result.params).fit(data)
        write_fitted(con, config, generator, data, users, config.candidates.top_n, bar, start,
                     every_user=False)
    result.fitted = None  # the fit's memory goes with the next model's tuning
