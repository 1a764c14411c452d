"""``run_candidates``: tune on val (optional), fit each generator per fold and target, write.

Hyperparameters of a model are, from weakest to strongest: the generator's ``defaults``, the
values tuned on val and saved in the warehouse table ``candidate_params`` (per target and model),
then ``candidates.params.<model>`` from the pipeline config.  Tuning always fits on the val fold's
history and scores against val's ``eval_targets``; the chosen values are then refit on each fold's
own history (the test fold's model never sees val targets as labels, only as history).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, NamedTuple

import duckdb
import numpy as np

from recsys.candidates import store
from recsys.candidates.base import CandidateGenerator, Recommendations
from recsys.candidates.data import TrainData
from recsys.candidates.registry import check_models, generator_class, make_generator
from recsys.candidates.tuned import data_hash, ensure_tuned, resolve_params
from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.errors import ConfigError
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.progress import progress_bar
from recsys.protocol import EVALUATION_FOLDS, TEST_FOLD
from recsys.run_lock import holds_run_lock
from recsys.sections.generators import check_params
from recsys.warehouse import check_fold, fold_names, open_warehouse, require_tables


class CandidateRun(NamedTuple):
    """One written (fold, target, model) slice of ``candidates``."""

    fold: str
    target: str
    model: str
    users: int
    rows: int
    seconds: float
    params: dict[str, Any]
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0  # scoring, top-n and writing


def _check_choices(values: Iterable[str], valid: Sequence[str] | None, what: str) -> list[str]:
    values = list(values)
    bad = [v for v in values if valid is not None and v not in valid]
    if bad or not values:
        raise ConfigError(f"Unknown {what}(s) {', '.join(bad) or '(none given)'}. Valid: {', '.join(valid)}.")
    return list(dict.fromkeys(values))


def _needs(models: Iterable[str]) -> set[str]:
    return set().union(*(generator_class(m).requires for m in models))


def fold_data_loader(con: duckdb.DuckDBPyConnection, config: PipelineConfig, models: Sequence[str],
                     target: str, last_fold: str | None = None) -> Callable[[str], TrainData]:
    """``load(fold) -> TrainData`` for ``target`` with what ``models`` need.

    The events are read once, up to the latest cut-off among the folds (``last_fold``, default
    test), and shared; one fold's data is kept in memory at a time.
    """
    needs = _needs(models)
    columns = set().union(*(generator_class(m).needed_columns() for m in models))
    embeddings = store.load_embeddings(con) if "embeddings" in needs else None
    groups = store.load_item_groups(con) if "groups" in needs else None
    events = None
    if "events" in needs:
        cut = max(store.history_end(con, f) for f in fold_names(con))
        events = store.load_events(con, target, cut)
    cache: dict[str, TrainData] = {}

    def load(fold: str) -> TrainData:
        if fold not in cache:
            cache.clear()
            cache[fold] = store.load_train_data(
                con, fold, target, load=needs, columns=columns,
                events=events, embeddings=embeddings, groups=groups,
            )  # fmt: skip
        return cache[fold]

    return load


@holds_run_lock("recsys candidates")
def run_candidates(
    settings: Settings,
    config: dict,
    *,
    folds: Sequence[str] = EVALUATION_FOLDS,
    targets: Sequence[str] = TARGETS,
    models: Sequence[str] | None = None,
    tune: bool = False,
    rank_every_user: Sequence[str] = (TEST_FOLD,),
    slices: Collection[tuple[str, str, str]] | None = None,
    progress: bool = True,
) -> list[CandidateRun]:
    """Fit every generator in ``models`` for each fold and target and write ``candidates``.

    Parameters
    ----------
    settings : Settings
        Where the warehouse is (``settings.warehouse``) and DuckDB resources.
    config : PipelineConfig or dict
        The pipeline config (``recsys.pipeline_config.pipeline_config``; a mapping is parsed):
        ``seed`` and ``candidates`` (``top_n``, ``models``, ``params``, ``tuning``).
    folds, targets : sequence of str
        Which slices to write (folds of the ``folds`` mart; ``listen_plus``/``like``).
    models : sequence of str, optional
        Generator names; default ``candidates.models`` of the config.
    tune : bool
        Run the tuning stage first (:func:`recsys.candidates.tuned.ensure_tuned`): choose
        hyperparameters on the val fold for every (target, model) without valid tuned values.
        Either way a fit uses the values tuned on the same inputs when they exist and
        ``candidates.tune`` is on (``--no-tune``: code defaults and ``candidates.params``).
    rank_every_user : sequence of str
        Folds whose candidates cover every user with target-type history (the evaluated fold,
        test by default: the paper's Coverage counts every ranked user); other folds (the
        ranker's training folds) serve the evaluated users only.
    slices : collection of (fold, target, model), optional
        Fit only these of the folds x targets x models (``recsys.pipeline.ensure_candidates``
        passes the missing or stale ones); ``None``: all.
    progress : bool
        Show tqdm bars on stderr.

    Returns
    -------
    list of CandidateRun
        One entry per written (fold, target, model): users served, rows, seconds, params used.
    """
    config = as_config(config)
    cfg = config.candidates
    folds = _check_choices(folds, None, "fold")
    targets = _check_choices(targets, TARGETS, "target")
    models = check_models(models if models is not None else cfg.models)
    top_n, seed = cfg.top_n, config.seed
    check_params(cfg.params, cfg.tuning.search_space, models)  # fail before any data is read
    with open_warehouse(settings) as con:
        for fold in folds:
            check_fold(con, fold)
    if tune:
        ensure_tuned(settings, config, targets=targets, models=models, progress=progress)
    digest = data_hash(settings)
    summary: list[CandidateRun] = []
    with open_warehouse(settings) as con:
        require_tables(con, Tables.folds, Tables.train_interactions, Tables.eval_targets)
        wanted_slices = set(slices) if slices is not None else {
            (f, t, m) for f in folds for t in targets for m in models}
        for target in targets:
            wanted = [m for m in models if any((f, target, m) in wanted_slices for f in folds)]
            if not wanted:
                continue
            load = fold_data_loader(con, config, wanted, target)
            for fold in folds:
                users = store.candidate_users(con, config, fold, target,
                                              every_user=fold in set(rank_every_user))
                every = fold in set(rank_every_user)
                for model in [m for m in wanted if (fold, target, m) in wanted_slices]:
                    params = resolve_params(con, config, target, model, digest)
                    summary.append(_run_one(con, config, load(fold), users, model, params, seed,
                                            top_n, every, progress))
    return summary


def fresh_slices(con, config: PipelineConfig, folds, targets, models, rank_every_user,
                 digest: str) -> set[tuple[str, str, str]]:
    """The (fold, target, model) slices of ``candidates`` fitted with what a fit now would use
    (build, parameters, seed, list length, users): those are kept, the others refitted."""
    config = as_config(config)
    top_n, seed = config.candidates.top_n, config.seed
    expected = {}
    for target in targets:
        for model in models:
            params = resolve_params(con, config, target, model, digest)
            for fold in folds:
                expected[(fold, target, model)] = store.candidate_fingerprint(
                    con, config, fold, target, model, params, seed, top_n,
                    every_user=fold in set(rank_every_user))
    return store.fresh_candidate_slices(con, expected)


def _run_one(con, config, data, users, model, params, seed, top_n, every_user, progress
             ) -> CandidateRun:
    start = time.perf_counter()
    with progress_bar(total=len(users), desc=f"{data.fold}/{data.target} {model}", unit="user",
              disable=not progress) as bar:  # fmt: skip
        bar.set_postfix_str("fitting")
        generator = make_generator(model, seed=seed, params=params).fit(data)
        return write_fitted(con, config, generator, data, users, top_n, bar, start,
                            every_user=every_user)


def write_fitted(con, config: PipelineConfig, generator: CandidateGenerator, data: TrainData,
                 users: np.ndarray, top_n: int, bar, start: float, *, every_user: bool
                 ) -> CandidateRun:
    """Score ``users`` with a generator fitted on ``data`` and write its ``candidates`` slice,
    with the fingerprint of what it was fitted from."""
    fitted = time.perf_counter()
    recs = _score(generator, users, top_n, bar)
    fingerprint = store.candidate_fingerprint(con, config, data.fold, data.target, generator.name,
                                              generator.params, generator.seed, top_n,
                                              every_user=every_user)
    rows = store.write_candidates(con, data.fold, data.target, generator.name, recs, fingerprint)
    end = time.perf_counter()
    bar.set_postfix_str(f"fit {fitted - start:.1f} s, predict {end - fitted:.1f} s, {rows:,} rows")
    return CandidateRun(data.fold, data.target, generator.name, len(users), rows, end - start,
                        generator.params, fitted - start, end - fitted)


def _score(generator: CandidateGenerator, users: np.ndarray, n: int, bar) -> Recommendations:
    bar.set_postfix_str("scoring")
    parts = []
    for served, part in generator.recommend_blocks(users, n):
        parts.append(part)
        bar.update(served)
    return Recommendations.concat(parts)


def run_seed_repeats(
    settings: Settings,
    config: PipelineConfig,
    *,
    fold: str,
    targets: Sequence[str],
    models: Sequence[str],
    seeds: Sequence[int],
    n: int,
    name: Callable[[str, int], str],
    progress: bool = True,
) -> list[tuple[CandidateRun, Recommendations]]:
    """Refit ``models`` on ``fold`` once per seed in ``seeds`` with the parameters of their main
    run (tuned values and ``candidates.params``), and return each one's top ``n`` for every
    ranked user of the fold, as model ``name(model, seed)``. Nothing is written here."""
    config = as_config(config)
    models = check_models(models)
    if not models or not seeds:
        return []
    digest = data_hash(settings)
    out = []
    with open_warehouse(settings) as con:
        for target in targets:
            data = fold_data_loader(con, config, models, target)(fold)
            users = store.ranked_users(con, fold, target)
            for model in models:
                params = resolve_params(con, config, target, model, digest)
                for seed in seeds:
                    label = name(model, seed)
                    start = time.perf_counter()
                    with progress_bar(total=len(users), desc=f"{fold}/{target} {label}", unit="user",
                              disable=not progress) as bar:  # fmt: skip
                        bar.set_postfix_str("fitting")
                        generator = make_generator(model, seed=int(seed), params=params).fit(data)
                        fitted = time.perf_counter()
                        recs = _score(generator, users, n, bar)
                    end = time.perf_counter()
                    out.append((CandidateRun(fold, target, label, len(users), len(recs), end - start,
                                             generator.params, fitted - start, end - fitted), recs))
    return out
