"""The pipeline: its stages in order, and what each needs that is missing or stale.

=========================  =========================================================  ==================
stage                      what it does                                               alone
=========================  =========================================================  ==================
build                      dbt build: folds, targets, aggregates, point-in-time        recsys build
                           features; records the build's fingerprint (recsys.state)
tune                       every generator with a search space tuned on val (Optuna)   recsys tune
candidates                 every generator fitted per fold and target -> candidates    recsys candidates
build-candidate-features   dbt: candidates joined with the features                    recsys build
                                                                                       --select ...
train-ranker               one LambdaRank model per target on the training folds       recsys train-ranker
rank                       the evaluated fold's candidates re-ranked                   recsys rank
recommendations            each generator's top-k of the evaluated fold                recsys recommend
next-song                  the next-song models' lists of the fold's sessions          recsys next-song
evaluate                   SQL metrics, intervals, paired tests, reports               recsys metrics
=========================  =========================================================  ==================

:data:`STAGES` is that list; ``recsys bench`` runs it stage by stage in child processes, and
:func:`run_evaluate` (``recsys evaluate``) runs every stage after ``build`` in one process.

What a stage reuses is decided by fingerprints, never by "the table exists": a ``candidates``
slice is fitted again unless its recorded fingerprint (build, parameters, seed, list length,
users) equals the one a fit would record now (:func:`missing_candidate_slices`), and the
``candidate_features`` mart is rebuilt unless its rows match the ``candidates`` table
(:func:`stale_feature_slices`). The library never prints; progress goes to stderr bars.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from recsys import dbt_runner, ranking, state
from recsys.candidates import run_candidates
from recsys.candidates.runner import fresh_slices, run_seed_repeats
from recsys.candidates.store import candidates_table
from recsys.candidates.tuned import (
    data_hash,
    ensure_tuned,
    resolve_params,
    tuned_models,
    tuning_enabled,
)
from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.errors import RecsysError
from recsys.evaluation.next_song import KS as NEXT_SONG_KS
from recsys.evaluation.next_song import write_next_song_lists
from recsys.evaluation.scoring import (
    EvaluateResult,
    require_targets,
    score_and_report,
)
from recsys.evaluation.seeds import SEP, base_model, variant_name
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.protocol import EVALUATION_FOLDS, TEST_FOLD, VAL_FOLD
from recsys.ranking.connection import ranking_warehouse
from recsys.ranking.dataset import RANK_PREFIX, column_types, generators_in
from recsys.ranking.ranker import merged_models, val_candidate_sources
from recsys.ranking.recall import candidate_recall
from recsys.ranking.settings import dbt_vars
from recsys.ranking.training import check_train_folds
from recsys.run_lock import holds_run_lock
from recsys.tables import (
    forget_recommendations,
    recommendations_from_candidates,
    write_candidate_recall,
    write_model_run,
    write_recommendations,
)
from recsys.warehouse import open_warehouse, table_exists


@dataclass(frozen=True)
class Stage:
    """One stage: its name, the ``recsys`` command line that runs it alone (every one takes
    ``--config``), and its duty."""

    name: str
    argv: tuple[str, ...]
    duty: str


def stages(models: Sequence[str] | None = None, fold: str = TEST_FOLD) -> tuple[Stage, ...]:
    """The stages after ``generate`` and before nothing, in order, for generators ``models``
    (None: each stage's config's ``candidates.models``, which may follow the data's size)."""
    listed = ("--models", ",".join(models)) if models is not None else ()
    return (
        Stage("build", ("build", "--quiet"), "dbt build of the marts; the build's fingerprint"),
        Stage("tune", ("tune", *listed),
              "tune every generator on val; the ranker's val candidates from the chosen fits"),
        Stage("candidates", ("candidates", *listed, "--fold", f"{VAL_FOLD},{fold}",
                             "--skip-existing"),
              "fit every generator per fold and target, keeping fresh slices"),
        Stage("build-candidate-features", ("build", "--select", Tables.candidate_features),
              "dbt: candidates joined with the point-in-time features"),
        Stage("train-ranker", ("train-ranker",), "one LambdaRank model per target"),
        Stage("rank", ("rank", "--fold", fold), "re-rank the evaluated fold's candidates"),
        Stage("recommendations", ("recommend", "--fold", fold, *listed),
              "each generator's top-k of the evaluated fold"),
        Stage("next-song", ("next-song", "--fold", fold),
              "the next-song task's lists of the evaluated fold, scored"),
        Stage("evaluate", ("metrics", "--fold", fold),
              "SQL metrics, intervals, paired tests and reports"),
    )


# -------------------------------------------------------------------- what is missing or stale
def missing_candidate_slices(
    settings: Settings, config: PipelineConfig | Mapping[str, Any], con, folds: Sequence[str],
    targets: Sequence[str], models: Sequence[str], rank_every_user: Sequence[str],
) -> list[tuple[str, str, str]]:
    """(fold, target, model) slices of ``candidates`` that are missing or stale (fitted from
    another build, other parameters, seed, list length or users: ``recsys.state``)."""
    have = fresh_slices(con, as_config(config), folds, targets, models, rank_every_user,
                        data_hash(settings))
    return [(f, t, m) for f in folds for t in targets for m in models if (f, t, m) not in have]


def stale_feature_slices(
    con, folds: Sequence[str], targets: Sequence[str], max_rank: int | None = None, *,
    models: Sequence[str] | None = None,
) -> list[tuple[str, str]]:
    """(fold, target) slices whose ``candidate_features`` disagree with ``candidates``.

    Compares a fingerprint of every (model, uid, item_id, rank): the row count and the sum of
    row hashes, of the ``candidates`` of ``models`` (the rankers' merged generators; default:
    every generator with a ``rank_<model>`` column, so a mart that still holds candidates of
    another model is stale) against the mart's ``rank_<model>`` of the same models. With ``max_rank`` (dbt var
    ``candidate_max_rank``) only ranks ``<= max_rank`` count, on both sides (a mart that keeps
    more rows is still fresh for a ranker reading only those).
    """
    wanted = [(f, t) for f in folds for t in targets]
    if not table_exists(con, Tables.candidate_features) or not table_exists(con, Tables.candidates):
        return wanted
    columns = generators_in(list(column_types(con, Tables.candidate_features)))
    models = [m for m in (columns if models is None else models) if m in columns]
    if not models:
        return wanted
    rank_columns = ", ".join(f'"{RANK_PREFIX}{m}"' for m in models)
    rows = con.execute(
        f"""
        with c as (
            select fold, target, count(*) as n,
                   sum(hash(model, uid::uinteger, item_id::uinteger, rank::integer)::hugeint) as h
            from {Tables.candidates} where list_contains($models, model)
              and list_contains($folds, fold) and ($max_rank is null or rank <= $max_rank)
            group by all
        ),
        long as (
            unpivot (select fold, target, uid, item_id, {rank_columns}
                     from {Tables.candidate_features} where list_contains($folds, fold))
            on {rank_columns} into name model value rank
        ),
        f as (
            select fold, target, count(*) as n,
                   sum(hash(replace(model, '{RANK_PREFIX}', ''), uid::uinteger, item_id::uinteger,
                            rank::integer)::hugeint) as h
            from long where $max_rank is null or rank <= $max_rank group by all
        )
        select c.fold, c.target from c join f using (fold, target) where c.n = f.n and c.h = f.h
        """,
        {"models": models, "folds": list(dict.fromkeys(folds)), "max_rank": max_rank},
    ).fetchall()
    fresh = set(rows)
    return [s for s in wanted if s not in fresh]


def ensure_candidates(
    settings: Settings, config: PipelineConfig | Mapping[str, Any], *, folds: Sequence[str],
    targets: Sequence[str], models: Sequence[str], rank_every_user: Sequence[str] = (TEST_FOLD,),
    progress: bool = True,
) -> list:
    """Fit the missing or stale (fold, target, model) slices of ``candidates`` (only those);
    returns their runs (``recsys.candidates.CandidateRun``)."""
    config = as_config(config)
    with ranking_warehouse(settings) as con:
        missing = missing_candidate_slices(settings, config, con, folds, targets, models,
                                           rank_every_user)
    if not missing:
        return []
    return run_candidates(
        settings, config, folds=list(dict.fromkeys(f for f, _, _ in missing)),
        targets=list(dict.fromkeys(t for _, t, _ in missing)),
        models=list(dict.fromkeys(m for _, _, m in missing)), slices=missing,
        rank_every_user=rank_every_user, progress=progress)


def ensure_inputs(
    settings: Settings,
    config: PipelineConfig | Mapping[str, Any],
    *,
    folds: Sequence[str],
    targets: Sequence[str],
    models: Sequence[str] | None = None,
    progress: bool = True,
    check_stale: bool = True,
    rank_every_user: Sequence[str] = (TEST_FOLD,),
) -> dict[str, Any]:
    """The ranker's inputs: fit the missing or stale candidate slices, rebuild the feature mart
    where it disagrees with them; returns what was done.

    ``check_stale=False`` skips comparing the mart with ``candidates`` (a scan of both tables,
    tens of seconds at 50m) and rebuilds it only when candidates were fitted.
    ``rank_every_user``: folds whose candidates serve every user with target-type history (the
    evaluated fold), not only the evaluated users.
    """
    config = as_config(config)
    models = list(models or config.mart_models)
    mart_vars = dbt_vars(config)
    max_rank = mart_vars["candidate_max_rank"]
    runs = ensure_candidates(settings, config, folds=folds, targets=targets, models=models,
                             rank_every_user=rank_every_user, progress=progress)
    stale = []
    with ranking_warehouse(settings) as con:  # built for other generators or another depth?
        other_vars = not state.feature_mart_current(con, mart_vars)
        if (check_stale or runs) and not other_vars:
            stale = stale_feature_slices(con, folds, targets, max_rank, models=models)
    if stale or runs or other_vars:
        dbt_runner.build_candidate_features(settings, vars=mart_vars)
        with ranking_warehouse(settings) as con:
            still = stale_feature_slices(con, folds, targets, max_rank, models=models)
        if still:
            raise RecsysError(
                "candidate_features does not match the candidates after a rebuild for "
                f"{', '.join(f'{f}/{t}' for f, t in still)}; check the dbt model candidate_features."
            )
    return {
        "candidates_generated": [f"{r.fold}/{r.target}/{r.model}" for r in runs],
        "features_rebuilt": bool(stale or runs or other_vars),
    }


# ------------------------------------------------------------------------------ the ranker
def train_ranker_stage(settings: Settings, config: PipelineConfig | Mapping[str, Any], *,
                       targets: Sequence[str] = TARGETS, progress: bool = True
                       ) -> dict[str, dict[str, Any]]:
    """``recsys train-ranker``: the training folds' missing candidate slices (e.g. val_2 before
    its first run) and the mart, then one ranker per target.

    Only missing or stale slices are fitted; the mart is rebuilt only when some were (its
    staleness scan costs tens of seconds at 50m, and ``recsys evaluate`` runs it anyway).
    """
    config = as_config(config)
    cfg = config.ranker
    with ranking_warehouse(settings) as con:
        check_train_folds(con, cfg.train_folds)
    ensure_inputs(settings, config, folds=cfg.train_folds, targets=targets,
                  models=config.merged_models, progress=progress, check_stale=False,
                  rank_every_user=())
    return ranking.train_ranker(settings, config, targets=targets, progress=progress)


def run_two_stage(
    settings: Settings,
    config: PipelineConfig | Mapping[str, Any],
    fold: str = TEST_FOLD,
    targets: Sequence[str] = TARGETS,
    progress: bool = True,
) -> dict[str, Any]:
    """The whole two-stage recommender: candidates, features, training, ranking ``fold``.

    Fits the generators for the training folds and ``fold`` where their slices are missing or
    stale and rebuilds the ``candidate_features`` mart when it disagrees with them, trains one
    ranker per target, writes ``fold``'s top-k as model ``ranker.model_name`` (``two_stage``) to
    ``recommendations`` and the ``candidate_recall`` / ``ranker_feature_importance`` tables.
    With ``ranker.compare_untuned`` (and tuning on) the same is done for the ranker on the
    untuned generators' candidates (``PipelineConfig.untuned_ranker``: model
    ``two_stage_untuned``), which writes only its lists.

    Returns
    -------
    dict
        ``{"model": ..., "inputs": ..., "train": {target: ...}, "rank": {target: ...},
        "compared": {name: {"train": ..., "rank": ...}}}`` with rows, users, best iteration,
        held-out val NDCG@10, candidate recall per source and feature gains per target;
        ``compared`` holds every two-stage model trained, the headline one first.
    """
    config = as_config(config)
    cfg = config.ranker
    targets = tuple(targets)
    with ranking_warehouse(settings) as con:
        check_train_folds(con, cfg.train_folds)
    folds = tuple(dict.fromkeys((*cfg.train_folds, fold)))
    inputs = ensure_inputs(
        settings, config, folds=folds, targets=targets, models=config.mart_models,
        progress=progress, rank_every_user=[f for f in folds if f not in cfg.train_folds],
    )
    compared = {}
    for i, ranker in enumerate(config.rankers):  # the headline ranker records its tables
        compared[ranker.two_stage_name] = {
            "train": ranking.train_ranker(settings, ranker, targets=targets, progress=progress,
                                          record=i == 0),
            "rank": ranking.rank(settings, ranker, fold=fold, targets=targets, progress=progress,
                                 record=i == 0)}
    train, ranked = compared[cfg.model_name]["train"], compared[cfg.model_name]["rank"]
    if fold != VAL_FOLD:
        # recall on val too: how much the ranker could learn from
        with ranking_warehouse(settings) as con:
            for target in targets:
                meta = train[target]
                recall = candidate_recall(
                    con, VAL_FOLD, target, meta["models"], meta["candidates_per_model"]
                )
                write_candidate_recall(con, recall, VAL_FOLD, target)
    return {"model": cfg.model_name, "fold": fold, "inputs": inputs, "train": train,
            "rank": ranked, "compared": compared}


# ------------------------------------------------------------------- generators' recommendations
@holds_run_lock("recsys recommend")
def write_generator_recommendations(settings: Settings, config: PipelineConfig | Mapping[str, Any], *,
                                    fold: str, models: Sequence[str],
                                    targets: Sequence[str] = TARGETS) -> dict[str, int]:
    """``recsys recommend``: each generator's top-k (``evaluation.top_k``) candidates of ``fold``
    for every ranked user, as its ``recommendations`` slice. Returns rows per target/model."""
    top_k = as_config(config).evaluation.top_k
    with open_warehouse(settings) as con:
        have = set(con.execute(
            f"select distinct target, model from {Tables.candidates} where fold = ?", [fold]
        ).fetchall()) if table_exists(con, Tables.candidates) else set()
        missing = [f"{t}/{m}" for t in targets for m in models if (t, m) not in have]
        if missing:
            raise RecsysError(
                f"No {fold} candidates of {', '.join(missing)}: run `recsys candidates --fold "
                f"{fold} --models {','.join(models)}` first (or `recsys evaluate`).")
        return {f"{t}/{m}": write_generator_slice(con, fold, t, m, top_k)
                for t in targets for m in models}


def _slices_to_fit(settings, config, con, fold: str, generators: Sequence[str]
                   ) -> list[tuple[str, str, str]]:
    """The (fold, target, model) candidate slices of ``fold`` an evaluate run fits: missing or
    stale ones, and those without a ``model_runs`` row (written by ``recsys candidates``: the
    report needs the row's parameters and times)."""
    missing = set(missing_candidate_slices(settings, config, con, [fold], TARGETS, generators,
                                           [fold]))
    runs = _model_runs(con, fold)
    return [(fold, t, m) for t in TARGETS for m in generators
            if (fold, t, m) in missing or (t, m) not in runs]


def _model_runs(con, fold: str) -> set[tuple[str, str]]:
    """(target, model) of ``fold``'s ``model_runs`` rows (what the report reads for a row)."""
    if not table_exists(con, Tables.model_runs):
        return set()
    return set(con.execute(f"select target, model from {Tables.model_runs} where fold = ?",
                           [fold]).fetchall())


def _current_generator_slice(con, fold: str, target: str, model: str, top_k: int) -> int:
    """Rows of a generator's ``recommendations`` slice, written again from its (fresh)
    candidates when its recorded fingerprint is not what they and ``top_k`` give now."""
    key = {"fold": fold, "target": target, "model": model}
    now = state.recommendation_fingerprint(con, fold, target, [model], top_k)
    if now is None or state.recorded(con, Tables.recommendations, key) != now:
        return write_generator_slice(con, fold, target, model, top_k)
    return con.execute(f"select count(*) from {Tables.recommendations} where fold = ? and "
                       "target = ? and model = ?", [fold, target, model]).fetchone()[0]


def write_generator_slice(con, fold: str, target: str, model: str, top_k: int) -> int:
    """One generator's ``recommendations`` slice from its ``candidates`` slice (top ``top_k``),
    with the fingerprint of that candidates slice and depth (``recsys metrics`` checks it)."""
    return write_recommendations(
        con, recommendations_from_candidates(fold, target, model, top_k), fold, target, model,
        state.recommendation_fingerprint(con, fold, target, [model], top_k))


def _seed_repeats(settings, config, fold, generators, tunable, top_k, progress) -> list[str]:
    """Fit the ``evaluation.seed_runs`` models once per extra seed; returns the report's note."""
    models, seeds = config.evaluation.seed_runs.models, config.evaluation.seed_runs.seeds
    repeated = [m for m in models if m in generators]
    extra = config.extra_seeds
    with open_warehouse(settings) as con:  # this run's models' repeats with other seeds go;
        if table_exists(con, Tables.recommendations):  # other models' repeats stay as they are
            stale = [name for (name,) in con.execute(
                f"select distinct model from {Tables.recommendations} where fold = ?", [fold]
            ).fetchall() if base_model(name) in generators
                and (base_model(name) not in repeated or int(name.rpartition(SEP)[2]) not in extra)]
            forget_recommendations(con, fold, stale)
    if not repeated or not extra:
        return []
    with open_warehouse(settings) as con:
        todo = _stale_repeats(settings, config, con, fold, repeated, extra, top_k)
    runs = [run for (target, model), stale_seeds in todo.items()
            for run in run_seed_repeats(settings, config, fold=fold, targets=[target],
                                        models=[model], seeds=stale_seeds, n=top_k,
                                        name=variant_name, progress=progress)]
    with open_warehouse(settings) as con:
        for run, recs in runs:
            base = base_model(run.model)
            fingerprint = _repeat_fingerprint(con, run.fold, run.target, base, run.params,
                                              run.model.rpartition(SEP)[2], top_k)
            write_recommendations(con, candidates_table(run.fold, run.target, run.model, recs),
                                  run.fold, run.target, run.model, fingerprint)
            write_model_run(con, run.fold, run.target, run.model, params=run.params,
                            tuned=base_model(run.model) in tunable, fit_seconds=run.fit_seconds,
                            predict_seconds=run.predict_seconds)
    total = len(TARGETS) * len(repeated) * len(extra)
    reused = f"; {total - len(runs)} of {total} reused (same inputs)" if len(runs) < total else ""
    return [f"{', '.join(repeated)}: also fitted with seeds {', '.join(map(str, extra))} "
            f"(evaluation.seed_runs{reused}); the seed table gives the mean over seeds "
            f"{', '.join(map(str, seeds))}, as the official code reports them"]


def _repeat_fingerprint(con, fold: str, target: str, model: str, params: Mapping[str, Any],
                        seed: str, top_k: int) -> str | None:
    """What a seed repeat's ``recommendations`` slice is computed from: the build, the model,
    its parameters (those of the main run), the seed and the list depth."""
    return state.recommendation_fingerprint(
        con, fold, target, [], top_k,
        extra={"build": state.current_build(con), "model": model, "params": dict(params),
               "seed": str(seed)})


def _stale_repeats(settings, config, con, fold: str, models: Sequence[str],
                   seeds: Sequence[int], top_k: int) -> dict[tuple[str, str], list[int]]:
    """(target, model) -> the seeds whose repeat of ``fold`` is missing or stale (or has no
    ``model_runs`` row): only those are fitted again."""
    digest = data_hash(settings)
    runs = _model_runs(con, fold)
    todo: dict[tuple[str, str], list[int]] = {}
    for target in TARGETS:
        for model in models:
            params = resolve_params(con, config, target, model, digest)
            for seed in seeds:
                name = variant_name(model, seed)
                recorded = state.recorded(con, Tables.recommendations,
                                          {"fold": fold, "target": target, "model": name})
                now = _repeat_fingerprint(con, fold, target, model, params, str(seed), top_k)
                if (target, name) not in runs or recorded != now:
                    todo.setdefault((target, model), []).append(seed)
    return todo


# what a two_stage row's parameters are in model_runs and the report
RANKER_SUMMARY = ("models", "candidates_per_model", "train_folds", "best_iteration", "val_ndcg@10",
                  "discovery_slots")


# ------------------------------------------------------------------------------ recsys evaluate
@holds_run_lock("recsys evaluate")
def run_evaluate(
    settings: Settings,
    config: PipelineConfig | Mapping[str, Any],
    *,
    fold: str = TEST_FOLD,
    models: Sequence[str] | None = None,
    two_stage: bool = True,
    progress: bool = True,
) -> EvaluateResult:
    """Every stage after ``build`` in one process: tune on val, fit the generators (and the
    two-stage model), write ``recommendations``, score, report.

    Parameters
    ----------
    settings, config
        Paths and resources; the pipeline config (``evaluation``, ``candidates``, ``ranker``).
        ``candidates.tune`` (default on; ``--no-tune`` off) runs the tuning stage first
        (:func:`recsys.candidates.tuned.ensure_tuned`): every generator with a search space is
        tuned on the val fold unless values tuned on the same inputs exist (then reused).
    fold
        The fold to evaluate (``test`` by default; ``val`` gives in-sample numbers for tuned
        models, and the report says so).
    models
        Generators to fit; default ``candidates.models``. The two-stage model's name
        (``ranker.model_name``) may be listed too.
    two_stage
        Also train and apply the two-stage ranker (and, when ``models`` is given, only if it
        lists the two-stage model's name).
    progress
        Progress bars on stderr.
    """
    config = as_config(config)
    require_targets(settings, fold)
    two_stage_name = config.two_stage_name
    chosen = list(models) if models else list(config.candidates.models)
    generators = [m for m in chosen if m != two_stage_name]
    want_two_stage = two_stage and (not models or two_stage_name in chosen)
    notes = []
    if want_two_stage and fold == VAL_FOLD:
        # the ranker is trained on val: scoring it there would be in-sample
        notes.append(f"two-stage model skipped on the {VAL_FOLD} fold: it is trained on {VAL_FOLD}")
        want_two_stage = False
    fitted = list(dict.fromkeys(
        generators + (merged_models(config) if want_two_stage else [])))
    tuning = tuning_enabled(config)
    if tuning:
        rows = ensure_tuned(settings, config, targets=TARGETS, models=fitted, progress=progress,
                            val_candidates=val_candidate_sources(config) if want_two_stage else ())
        fresh = [r for r in rows if not r.reused]
        notes.append(f"tuning on {VAL_FOLD}: {len(fresh)} (target, model) pairs tuned in "
                     f"{sum(r.seconds for r in fresh):.1f} s, {len(rows) - len(fresh)} reused "
                     "from candidate_params (same inputs, no fit)")
        if fold == VAL_FOLD and tuned_models(config, generators):
            notes.append(f"the generators were tuned on the {VAL_FOLD} fold: these {VAL_FOLD} "
                         "numbers are in-sample")
    else:
        notes.append("untuned: every generator was fitted with its code defaults and "
                     "candidates.params (--no-tune)")
    written = dict.fromkeys(generators, 0)
    if generators:
        top_k = config.evaluation.top_k
        with open_warehouse(settings) as con:
            refit = _slices_to_fit(settings, config, con, fold, generators)
        runs = run_candidates(settings, config, folds=[fold], targets=TARGETS, models=generators,
                              slices=refit, rank_every_user=[fold], progress=progress) \
            if refit else []
        tunable = set(tuned_models(config, generators)) if tuning else set()
        with open_warehouse(settings) as con:
            for run in runs:
                written[run.model] += write_generator_slice(con, run.fold, run.target, run.model,
                                                            top_k)
                write_model_run(con, run.fold, run.target, run.model, params=run.params,
                                tuned=run.model in tunable, fit_seconds=run.fit_seconds,
                                predict_seconds=run.predict_seconds)
            reused = [(t, m) for t in TARGETS for m in generators if (fold, t, m) not in refit]
            for target, model in reused:  # fresh candidates: their lists only if those are stale
                written[model] += _current_generator_slice(con, fold, target, model, top_k)
        if reused:
            notes.append(f"reused {len(reused)} of {len(reused) + len(runs)} (target, generator) "
                         f"slices of {fold}: fitted on the same inputs (build, parameters, seed, "
                         "list length, users)")
        notes += _seed_repeats(settings, config, fold, generators, tunable,
                               config.evaluation.top_k, progress)
    if want_two_stage:
        start = time.perf_counter()
        summary = run_two_stage(settings, config, fold=fold, targets=TARGETS, progress=progress)
        seconds = time.perf_counter() - start
        for name, done in summary["compared"].items():
            kept = [t for t in TARGETS if done["train"][t].get("reused")
                    and done["rank"][t].get("reused")]
            if kept:
                notes.append(f"{name}: the rankers and {fold} lists of {', '.join(kept)} reused "
                             "(trained and ranked on the same candidates and features)")
            headline = name == two_stage_name
            with open_warehouse(settings) as con:
                for target in TARGETS:
                    if target in kept and (target, name) in _model_runs(con, fold):
                        continue  # its row keeps the times of the run that trained and ranked
                    # the stage's time (both rankers and their candidates) goes on the headline row
                    write_model_run(
                        con, fold, target, name,
                        params={k: done["train"][target].get(k) for k in RANKER_SUMMARY},
                        tuned=tuning and headline, fit_seconds=seconds if headline else None,
                        predict_seconds=None)
    empty = [m for m in generators if not written[m]]
    if empty:  # e.g. audio on data without embeddings: reported, not an error
        notes.append(f"no recommendations for fold {fold} from: {', '.join(empty)}")
    report_models = [m for m in chosen if m not in empty] + (
        [n for n in config.two_stage_names if n not in chosen] if want_two_stage else [])
    if _has_next_song(settings):  # the next-song task beside the benchmark, in the same report
        write_next_song_lists(settings, config, fold, max(NEXT_SONG_KS), reuse=True)
    return score_and_report(settings, config, fold=fold, models=report_models, progress=progress,
                            notes=notes)


def _has_next_song(settings: Settings) -> bool:
    with open_warehouse(settings, read_only=True) as con:
        return table_exists(con, Tables.next_song_queries)


__all__ = [
    "EVALUATION_FOLDS", "Stage", "ensure_candidates", "ensure_inputs", "missing_candidate_slices",
    "run_evaluate", "run_two_stage", "stages", "stale_feature_slices", "train_ranker_stage",
    "write_generator_recommendations",
]  # fmt: skip
