"""``run_candidates``: tune on val (optional), fit each generator per fold and target, write.

Hyperparameters of a model are, from weakest to strongest: the generator's ``defaults``, the
values tuned on val and saved in the warehouse table ``candidate_params`` (per target and model),
then ``candidates.params.<model>`` from the pipeline config.  Tuning always fits on the val fold's
history and scores against val's ``eval_targets``; the chosen values are then refit on each fold's
own history (the test fold's model never sees val targets as labels, only as history).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import duckdb
from tqdm.auto import tqdm

from recsys.candidates import store
from recsys.candidates.base import CandidateGenerator, Recommendations, validate_n
from recsys.candidates.data import TrainData
from recsys.candidates.registry import GENERATORS, check_models, make_generator
from recsys.candidates.tuning import expand_grid, parse_metric, tune_model
from recsys.columns import FOLDS, TARGETS, Tables
from recsys.config import Settings
from recsys.errors import ConfigError
from recsys.warehouse import open_warehouse, require_tables


class CandidateRun(NamedTuple):
    """One written (fold, target, model) slice of ``candidates``."""

    fold: str
    target: str
    model: str
    users: int
    rows: int
    seconds: float
    params: dict[str, Any]


def _check_choices(values: Iterable[str], valid: Sequence[str], what: str) -> list[str]:
    values = list(values)
    bad = [v for v in values if v not in valid]
    if bad or not values:
        raise ConfigError(f"Unknown {what}(s) {', '.join(bad) or '(none given)'}. Valid: {', '.join(valid)}.")
    return list(dict.fromkeys(values))


def resolve_params(
    con: duckdb.DuckDBPyConnection, config: dict, target: str, model: str
) -> dict[str, Any]:
    """Tuned values (if saved) overlaid by the config's explicit ``candidates.params.<model>``."""
    explicit = (config["candidates"].get("params") or {}).get(model) or {}
    tuned = store.tuned_params(con, target, model) or {}
    return {**GENERATORS[model].defaults, **tuned, **explicit}


def _needs(models: Iterable[str]) -> set[str]:
    return set().union(*(GENERATORS[m].requires for m in models))


def run_candidates(
    settings: Settings,
    config: dict,
    *,
    folds: Sequence[str] = ("val", "test"),
    targets: Sequence[str] = ("listen_plus", "like"),
    models: Sequence[str] | None = None,
    tune: bool = False,
    progress: bool = True,
) -> list[CandidateRun]:
    """Fit every generator in ``models`` for each fold and target and write ``candidates``.

    Parameters
    ----------
    settings : Settings
        Where the warehouse is (``settings.warehouse``) and DuckDB resources.
    config : dict
        The pipeline config (``recsys.pipeline_config.load_config``): ``seed`` and the
        ``candidates`` section (``top_n``, ``models``, ``params``, ``grids``, ``tune_metric``).
    folds, targets : sequence of str
        Which slices to write (``val``/``test``; ``listen_plus``/``like``).
    models : sequence of str, optional
        Generator names; default ``config["candidates"]["models"]``.
    tune : bool
        Choose hyperparameters on the val fold first (grid ``candidates.grids.<model>``) and save
        them in ``candidate_params``; later runs without ``tune`` reuse them.
    progress : bool
        Show tqdm bars on stderr.

    Returns
    -------
    list of CandidateRun
        One entry per written (fold, target, model): users served, rows, seconds, params used.
    """
    cfg = config["candidates"]
    folds = _check_choices(folds, FOLDS, "fold")
    targets = _check_choices(targets, TARGETS, "target")
    models = check_models(models if models is not None else cfg["models"])
    top_n = validate_n(cfg["top_n"])
    seed = int(config["seed"])
    min_ratio = int(cfg.get("listen_plus_min_ratio", 50))
    _check_params(cfg, models, tune)  # fail before any data is read
    needs = _needs(models)
    columns = set().union(*(GENERATORS[m].needed_columns() for m in models))
    summary: list[CandidateRun] = []
    with open_warehouse(settings) as con:
        require_tables(con, Tables.folds, Tables.train_interactions, Tables.eval_targets)
        # read once per process, shared by every (fold, target): the embeddings, and per target
        # the events up to the latest cut-off of the folds (each fold keeps its own prefix)
        embeddings = store.load_embeddings(con) if "embeddings" in needs else None
        last_cut = max(store.history_end(con, f) for f in {*folds, *(["val"] if tune else [])})
        for target in targets:
            cache: dict[str, TrainData] = {}
            events = (
                store.load_events(con, target, last_cut, listen_plus_min_ratio=min_ratio)
                if "events" in needs else None
            )  # fmt: skip

            def data_for(fold: str, target: str = target, cache: dict = cache, events=events) -> TrainData:
                if fold not in cache:
                    cache.clear()  # one fold's data in memory at a time
                    cache[fold] = store.load_train_data(
                        con, fold, target, load=needs, listen_plus_min_ratio=min_ratio,
                        columns=columns, events=events, embeddings=embeddings,
                    )  # fmt: skip
                return cache[fold]

            tuned = _tune(con, config, target, models, data_for("val"), seed, progress) if tune else {}
            for fold in folds:
                users = store.eval_users(con, fold, target)
                for model in models:
                    params = resolve_params(con, config, target, model)
                    fitted = tuned.pop(model, None) if fold == "val" else None
                    if fitted is not None and fitted.params != params:
                        fitted = None  # the config overrides a tuned value: refit
                    summary.append(_run_one(
                        con, data_for(fold), users, model, params, seed, top_n, progress, fitted
                    ))  # fmt: skip
            tuned.clear()
    return summary


def _check_params(cfg: dict, models: list[str], tune: bool) -> None:
    explicit = cfg.get("params") or {}
    unknown = sorted(set(explicit) - set(GENERATORS))
    if unknown:
        raise ConfigError(
            f"candidates.params names unknown model(s) {', '.join(unknown)}. "
            f"Valid names: {', '.join(GENERATORS)}."
        )
    for model in models:
        make_generator(model, seed=0, params=explicit.get(model))
        if tune:
            grid = (cfg.get("grids") or {}).get(model) or {}
            make_generator(model, seed=0, params=expand_grid(grid)[0] if grid else {})
    if tune:
        parse_metric(cfg.get("tune_metric", "recall@100"))


def _tune(con, config, target, models, val_data, seed, progress) -> dict[str, CandidateGenerator]:
    """Tune every model with a grid on val; save the choices; return the fitted val models."""
    cfg = config["candidates"]
    metric = cfg.get("tune_metric", "recall@100")
    parse_metric(metric)
    targets = store.eval_targets(con, "val", target)
    explicit = cfg.get("params") or {}
    fitted: dict[str, CandidateGenerator] = {}
    for model in models:
        grid = (cfg.get("grids") or {}).get(model)
        if not grid:
            continue
        with tqdm(desc=f"tune val/{target} {model}", disable=not progress, leave=False) as bar:
            result = tune_model(
                model, grid, val_data, targets, metric=metric, seed=seed,
                base_params=explicit.get(model), on_trial=lambda p, v, bar=bar: bar.update(1),
            )  # fmt: skip
        store.save_params(
            con, target, model, result.params, metric=metric, value=result.value, seed=seed
        )
        fitted[model] = result.best
    return fitted


def _run_one(con, data, users, model, params, seed, top_n, progress, fitted=None) -> CandidateRun:
    start = time.perf_counter()
    with tqdm(total=len(users), desc=f"{data.fold}/{data.target} {model}", unit="user",
              disable=not progress) as bar:  # fmt: skip
        if fitted is None:
            bar.set_postfix_str("fitting")
            generator = make_generator(model, seed=seed, params=params).fit(data)
        else:
            generator = fitted  # the tuning run's best model, already fitted on this val data
        bar.set_postfix_str("scoring")
        parts = []
        for served, part in generator.recommend_blocks(users, top_n):
            parts.append(part)
            bar.update(served)
        recs = Recommendations.concat(parts)
        rows = store.write_candidates(con, data.fold, data.target, model, recs)
    return CandidateRun(
        data.fold, data.target, model, len(users), rows, time.perf_counter() - start, generator.params
    )

