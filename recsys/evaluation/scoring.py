"""Scoring and reporting: the ``recommendations`` of a fold -> SQL metrics -> uncertainty ->
``metrics.csv``, ``paired_tests.csv``, ``seed_metrics.csv``, ``report.html``, ``run_manifest.json``.

``recsys metrics`` is :func:`score_and_report`; ``recsys evaluate`` (``recsys.pipeline``) runs
it last, after the stages that write ``recommendations``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from recsys import state
from recsys.atomic import write_texts_atomic
from recsys.columns import TARGETS, Tables
from recsys.config import SQL_DIR, Settings
from recsys.errors import WarehouseError
from recsys.evaluation.next_song import MODELS as NEXT_SONG_MODELS
from recsys.evaluation.next_song import reported_next_song
from recsys.evaluation.paper import paper_values
from recsys.evaluation.report import ReportData, render_html
from recsys.evaluation.runner import compute_metrics
from recsys.evaluation.seeds import base_model, is_variant, seed_summary
from recsys.evaluation.sql import run_query, shell_command
from recsys.evaluation.tables import csv_frame, headline_table, paper_table
from recsys.evaluation.two_stage import choice_frame, choose
from recsys.evaluation.uncertainty import ordered_models, with_uncertainty
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.protocol import TEST_FOLD
from recsys.run_lock import holds_run_lock
from recsys.run_manifest import MANIFEST_NAME, build_manifest, manifest_json, warehouse_profile
from recsys.warehouse import check_fold, open_warehouse, require_tables, table_exists


@dataclass
class EvaluateResult:
    """What ``recsys evaluate`` / ``recsys metrics`` produced."""

    fold: str
    table: str
    metrics: pd.DataFrame
    tests: pd.DataFrame
    metrics_csv: Path
    tests_csv: Path
    report_html: Path
    notes: list[str] = field(default_factory=list)
    # per (target, model): the parameters of its row (JSON), the val objective when tuned
    parameters: pd.DataFrame = field(default_factory=pd.DataFrame)
    headline: pd.DataFrame | None = None
    # the reports of the same inputs were there: nothing was scored or written (``table`` says so)
    reused: bool = False


# the target segments the two-stage model is also judged on (eval_targets.is_repeat)
SEGMENT_SUBSETS = ("repeat", "discovery")
# the files score_and_report writes into the reports folder, all or none
REPORT_FILES = ("metrics.csv", "paired_tests.csv", "seed_metrics.csv", "report.html", MANIFEST_NAME)
# the code the reports are computed with: metrics SQL, uncertainty, tables, plots, the paper's values
_REPORT_CODE = (Path(__file__).resolve().parent, SQL_DIR / "metrics",
                Path(__file__).resolve().parent.parent / "data" / "paper_tables.csv")


def report_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings,
                       config: PipelineConfig, fold: str, scored: Sequence[str],
                       models: Sequence[str] | None) -> str | None:
    """What ``score_and_report`` computes its reports from: the recorded fingerprint of every
    ``recommendations`` slice it scores, the build, the config, the settings the report names,
    the models asked for and the code that computes and draws (:data:`_REPORT_CODE`). None when
    a scored slice has no recorded fingerprint (lists written by other code)."""
    written = con.execute(f"select distinct target, model from {Tables.recommendations} "
                          "where fold = ? and list_contains(?, model) order by all",
                          [fold, list(scored)]).fetchall()
    recorded = state.recorded_slices(con, Tables.recommendations)
    slices = {f"{t}/{m}": recorded.get(state.slice_key({"fold": fold, "target": t, "model": m}))
              for t, m in written}
    if None in slices.values():
        return None
    next_song = {m: state.recorded(con, Tables.next_song_recommendations,
                                   {"fold": fold, "model": m}) for m in NEXT_SONG_MODELS}
    return state.digest({
        "build": state.current_build(con), "slices": slices, "fold": fold,
        "next_song": next_song,
        "models": list(models or []), "config": config.raw,
        "settings": {"data_dir": str(settings.data_dir), "size": settings.size,
                     "warehouse": str(settings.warehouse)},
        "code": state.files_hash(*_REPORT_CODE)})


def _current_reports(reports: Path, fingerprint: str | None) -> bool:
    """Whether every report file is in ``reports`` and was written from ``fingerprint``."""
    if fingerprint is None or not all((reports / name).is_file() for name in REPORT_FILES):
        return False
    try:
        written = json.loads((reports / MANIFEST_NAME).read_text()).get("report_fingerprint")
    except (OSError, ValueError):
        return False
    return written == fingerprint


def _reused_reports(reports: Path, fold: str, notes: Sequence[str]) -> EvaluateResult:
    from recsys.evaluation.headline import headline_frame

    return EvaluateResult(
        fold=fold, table=f"{reports}/ holds the reports of these inputs (the same "
        "recommendations, build, config and code): nothing was scored or written again.",
        metrics=pd.read_csv(reports / "metrics.csv"),
        tests=pd.read_csv(reports / "paired_tests.csv") if (reports / "paired_tests.csv")
        .stat().st_size else pd.DataFrame(),
        metrics_csv=reports / "metrics.csv", tests_csv=reports / "paired_tests.csv",
        report_html=reports / "report.html", notes=list(notes),
        headline=headline_frame(reports), reused=True)


def require_targets(settings: Settings, fold: str) -> None:
    """Fail before anything is fitted or written when ``fold`` lacks targets of a target type.

    An empty target window (the log ends before it, or no user with history has an event in it)
    or a target type with no events would otherwise stop the run half-way.
    """
    with open_warehouse(settings, read_only=True) as con:
        require_tables(con, Tables.eval_targets)
        check_fold(con, fold)
        counts = dict(con.execute(
            f"select target, count(*) from {Tables.eval_targets} where fold = ? group by target",
            [fold]).fetchall())
        window = con.execute(f"select target_start_ts, target_end_ts from {Tables.folds} "
                             "where fold = ?", [fold]).fetchone() \
            if table_exists(con, Tables.folds) else None
    missing = [t for t in TARGETS if not counts.get(t)]
    if missing:
        span = f"[{window[0]:,}, {window[1]:,})" if window else "of the `folds` table"
        raise WarehouseError(
            f"Fold {fold!r} has no {' or '.join(missing)} targets: no user with history before "
            f"the cut-off has such an event in the target window {span}. Check the data's time "
            "range and event files (`recsys profile`), then rebuild with `recsys build`."
        )


def stale_recommendations(con: duckdb.DuckDBPyConnection, settings: Settings, fold: str,
                          models: Sequence[str], top_k: int, two_stage: Sequence[str]) -> list[str]:
    """``target/model`` slices of ``fold``'s recommendations whose recorded fingerprint differs
    from what their inputs give now: a generator's candidates refitted since, or the two-stage
    ranker retrained or its candidates refitted. Slices without a record (lists written by other
    code) and seed repeats (``recsys evaluate`` checks those itself) are not checked."""
    from recsys.ranking.ranker import two_stage_fingerprint

    stale = []
    for target in TARGETS:
        for model in models:
            key = {"fold": fold, "target": target, "model": model}
            recorded = state.recorded(con, Tables.recommendations, key)
            if recorded is None or base_model(model) is not None:
                continue
            if model in two_stage:
                now = two_stage_fingerprint(con, settings, fold, target, top_k, model)
            else:
                now = state.recommendation_fingerprint(con, fold, target, [model], top_k)
            if now != recorded:
                stale.append(f"{target}/{model}")
    return stale


def require_fresh(con, settings: Settings, fold: str, models: Sequence[str], top_k: int,
                  two_stage: Sequence[str]) -> None:
    """Refuse to score recommendations computed from inputs that have changed since."""
    stale = stale_recommendations(con, settings, fold, models, top_k, two_stage)
    if stale:
        raise WarehouseError(
            f"The {fold} recommendations of {', '.join(stale)} were computed from candidates "
            "fitted again since (or a ranker trained again): scoring them would mix old and new "
            f"results. Write them again: `recsys recommend --fold {fold}` for generators, "
            f"`recsys rank --fold {fold}` for the two-stage model, or `recsys evaluate`.")


@holds_run_lock("recsys metrics")
def score_and_report(
    settings: Settings,
    config: dict,
    *,
    fold: str = TEST_FOLD,
    models: Sequence[str] | None = None,
    progress: bool = True,
    notes: Sequence[str] = (),
) -> EvaluateResult:
    """Score the ``recommendations`` already in the warehouse for ``fold`` and write reports.

    Writes ``metrics_per_user`` and ``metrics`` (one transaction), then ``<reports_dir>/metrics.csv``,
    ``paired_tests.csv``, ``seed_metrics.csv``, ``report.html`` and ``run_manifest.json`` (config,
    seeds, package versions, data profile; ``recsys.run_manifest``): all five to temporary files
    first, renamed into place once every one was written.
    ``models`` limits the table and reports (default: every model with recommendations).
    When the reports folder holds the reports of the same inputs (:func:`report_fingerprint`),
    nothing is scored or written: the result says so (``reused``) and reads the CSVs.
    """
    config = as_config(config)
    ev = config.evaluation
    ks, conventions, diversity_ks = list(ev.ks), list(ev.conventions), list(ev.diversity_ks)
    notes = list(notes)
    require_targets(settings, fold)  # an empty target window: nothing is scored or written
    with open_warehouse(settings) as con:
        require_tables(con, Tables.recommendations, Tables.eval_targets)
        check_fold(con, fold)
        present = {r[0] for r in con.execute(
            f"select distinct model from {Tables.recommendations} where fold = ?", [fold]).fetchall()}
        if not present:
            raise WarehouseError(
                f"No recommendations for fold {fold!r}. Run `recsys evaluate --fold {fold}` "
                "(or the candidate/ranker stages) first."
            )
        own = sorted(m for m in present if base_model(m) is None)
        absent = [m for m in (models or []) if m not in present]
        if absent:
            raise WarehouseError(
                f"No {fold} recommendations from {', '.join(absent)}; the models that have them: "
                f"{', '.join(own)}. Pick from those (--models) or write theirs first "
                "(`recsys evaluate`, `recsys recommend`, `recsys rank`).")
        # only the reported models (and their seed repeats) are checked and scored: slices of
        # other models are never read, and their rows of `metrics` stay as they were
        scored = sorted(m for m in present if not models or m in models or base_model(m) in models)
        require_fresh(con, settings, fold, scored, ev.top_k, config.two_stage_names)
        fingerprint = report_fingerprint(con, settings, config, fold, scored, models)
        if _current_reports(Path(settings.reports_dir), fingerprint):
            return _reused_reports(Path(settings.reports_dir), fold, notes)
        run = compute_metrics(con, ks=ks, folds=[fold], conventions=conventions,
                              diversity_ks=diversity_ks, models=scored if models else None,
                              progress=progress)
        notes += [f"not computed: {s}" for s in run.skipped]
        repeats = is_variant(run.metrics["model"])
        seeds = list(ev.seed_runs.seeds)
        repeated = {base_model(v) for v in run.metrics.loc[repeats, "model"]}
        seeds_table = seed_summary(run.metrics, {m: seeds for m in repeated},
                                   config.seed)
        extras = _report_inputs(con, fold, ks)
        preferred = [*config.candidates.models, *config.two_stage_names]
        present = {m for m in present if base_model(m) is None}  # seed repeats: seed table only
        shown = ordered_models([m for m in present if not models or m in set(models)], preferred)
        runs = extras.pop("model_runs")
        runs = runs[runs["model"].isin(shown)]
        two_stage_names = [n for n in config.two_stage_names if n in shown]
        targets = [t for t in TARGETS if t in set(run.metrics["target"])]
        # the headline two-stage model of each target: tuned or untuned candidates, chosen on
        # val; the other is shown, but tested, shaded and judged only in its own section
        chosen = choose(runs, two_stage_names, targets) if two_stage_names else {}
        variants = {(t, n) for t in targets for n in two_stage_names if n != chosen[t]}
        metrics, tests = with_uncertainty(
            con, run.metrics[~repeats], samples=ev.bootstrap_samples,
            confidence=ev.confidence, seed=config.seed, progress=progress, untested=variants)
        marts = warehouse_profile(con, fold)
        next_song = reported_next_song(con, settings, config, fold)
    metrics = metrics[metrics["model"].isin(shown)]
    seeds_table = seeds_table[seeds_table["model"].isin(shown)]
    if not tests.empty:
        tests = tests[tests["model"].isin(shown) & tests["best_model"].isin(shown)]
    tuned = bool(len(runs)) and bool(runs["tuned"].any())
    baselines = [m for m in shown if m not in config.two_stage_names]
    users = _evaluated_users(metrics)
    paper = paper_values(settings.size)
    table = "\n\n".join(
        paper_table(metrics, fold=fold, targets=targets, ks=ks, models=shown, users=users,
                    convention=c, paper=paper if c == "paper" else None, seeds=seeds_table)
        for c in conventions)
    headline = pd.concat(
        [headline_table(metrics, tests, fold=fold, target=t, two_stage=chosen[t],
                        baselines=baselines) for t in targets],
        ignore_index=True) if chosen and baselines else None
    # the same per segment: repeat and discovery targets, each against its own best single model
    segments = pd.concat(
        [headline_table(metrics, tests, fold=fold, target=t, two_stage=chosen[t],
                        baselines=baselines, subset=subset)
         for t in targets for subset in SEGMENT_SUBSETS],
        ignore_index=True) if chosen and baselines else None
    reports = Path(settings.reports_dir)
    metrics_csv, tests_csv, report_html = (reports / "metrics.csv", reports / "paired_tests.csv",
                                           reports / "report.html")
    commands = [shell_command(settings.warehouse, q, {"ks": ks, "fold": fold, "convention": c})
                for c in conventions for q in ("accuracy", "coverage")]
    variables = {"ks": ks, "fold": fold}
    commands.append(shell_command(settings.warehouse, "popularity", variables))
    commands.append(shell_command(settings.warehouse, "diversity",
                                  {**variables, "ks": diversity_ks}))
    data = ReportData(
        fold=fold, targets=targets, ks=ks, models=shown, metrics=metrics, tests=tests,
        settings_lines=[
            f"dataset {settings.size} ({settings.data_dir}), warehouse {settings.warehouse}",
            f"cut-offs {ks}, top {ev.top_k} recommendations per user, "
            f"{ev.bootstrap_samples} bootstrap resamples, seed {config.seed}",
            f"metric conventions: {', '.join(conventions)} (sql/metrics/README.md)",
            _tuning_line(config) if tuned else "untuned baselines (--no-tune)",
            _seeds_line(config, seeds_table),
            derived_line(config),
        ],
        notes=notes, shell_commands=commands, confidence=ev.confidence,
        convention_order=conventions, paper=paper if len(paper) else None, size=settings.size,
        tuned=tuned, tuned_params=_tuned_frame(runs, extras.pop("tuning")), timings=runs,
        headline=headline, segment_headline=segments,
        per_user_diff=_per_user_diff(extras.pop("per_user_ndcg"), shown, baselines),
        seeds=seeds_table, two_stage=config.two_stage_name, **_banner(settings),
        two_stage_choice=choice_frame(runs, metrics, two_stage_names, chosen, fold),
        untested=frozenset(variants), next_song=next_song,
        **extras,
    )
    # config, seeds, package versions, data profile and tuned parameters behind these numbers
    manifest = build_manifest(settings, config, fold=fold, models=shown, marts=marts)
    manifest["conventions"] = conventions
    manifest["tuned"] = tuned
    manifest["report_fingerprint"] = fingerprint
    manifest["two_stage"] = {"models": two_stage_names, "headline": chosen,
                             "chosen_by": "val_ndcg@10 of the ranker's held-out val users"}
    manifest["seed_runs"] = {"models": sorted(set(seeds_table["model"])), "seeds": seeds}
    manifest["model_runs"] = [
        {**r, "params": json.loads(r["params"])} for r in runs.drop(
            columns=["fit_seconds", "predict_seconds"]).to_dict("records")]
    write_texts_atomic({  # all or none: the reports of one run, never mixed with an older one's
        metrics_csv: csv_frame(metrics).to_csv(index=False),
        tests_csv: tests.to_csv(index=False),
        reports / "seed_metrics.csv": seeds_table.to_csv(index=False),
        report_html: render_html(data),
        reports / MANIFEST_NAME: manifest_json(manifest),
        **({} if next_song is None else
           {reports / "next_song.csv": next_song.to_csv(index=False)})})
    return EvaluateResult(fold=fold, table=table, metrics=metrics, tests=tests,
                          metrics_csv=metrics_csv, tests_csv=tests_csv, report_html=report_html,
                          notes=notes, parameters=data.tuned_params, headline=headline)


def _banner(settings: Settings) -> dict:
    """The report's first line: generated or real data, the size, the code's commit and the
    date (``banner`` and ``generated`` of ``ReportData``)."""
    from datetime import UTC, datetime

    from recsys.data.generate import read_generator_meta
    from recsys.run_manifest import provenance

    meta = read_generator_meta(Path(settings.flat_dir) / "listens.parquet")
    data = (f"Generated data (recsys generate --size {meta.get('size', settings.size)} --seed "
            f"{meta.get('seed')}), not real Yambda listens" if meta else
            f"Real data ({settings.data_dir})")
    code = provenance()
    commit = (code["git_commit"] or "no git commit")[:12]
    if code["git_dirty"]:
        commit += " with uncommitted changes"
    return {"banner": f"{data}; size {settings.size}; code {commit}; written "
                      f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "generated": meta is not None}


def derived_line(config: PipelineConfig) -> str:
    """Which settings followed the data's size (``recsys/scaled.yml``), and from what."""
    scale = config.scale
    if scale is None:
        return "settings from the config alone (derive_from_data off or the input's size unknown)"
    if not config.derived:
        return (f"no setting derived from the data's size ({scale['listens']:,} listens in "
                f"{scale['source']}: below every tier of recsys/scaled.yml)")
    values = "; ".join(f"{k} = {v}" for k, v in config.derived.items())
    return (f"derived from the data's size ({scale['listens']:,} listens in {scale['source']}, "
            f"tier {', '.join(scale['tiers'])} of recsys/scaled.yml; a --config value wins): "
            f"{values}")


def _seeds_line(config: PipelineConfig, seeds_table: pd.DataFrame) -> str:
    seeds = config.evaluation.seed_runs.seeds
    if len(seeds_table):
        return (f"seed repeats (evaluation.seed_runs): {', '.join(sorted(set(seeds_table['model'])))} "
                f"over seeds {', '.join(map(str, seeds))}, the mean beside the seed-{config.seed} row")
    return f"one seed ({config.seed}) per model: no seed repeats (evaluation.seed_runs)"


def _tuning_line(config: PipelineConfig) -> str:
    cfg = config.candidates.tuning
    per_model = "".join(f", {m}: {n}" for m, n in sorted(cfg.model_trials.items()))
    users = f"a seeded sample of {cfg.max_users:,} val users" if cfg.max_users else "every val user"
    return (f"baselines tuned on the val fold with Optuna: objective {cfg.metric} on {users}, "
            f"{cfg.trials} trials per model and target{per_model} (candidates.tuning)")


def _report_inputs(con: duckdb.DuckDBPyConnection, fold: str, ks: Sequence[int]) -> dict:
    """The warehouse tables the report shows besides the metrics (empty where absent)."""
    from recsys.candidates.store import tuning_rows

    has_history = table_exists(con, Tables.train_interactions)
    out = {
        "item_popularity": run_query(con, "data_item_popularity", {"fold": fold})
        if has_history else pd.DataFrame(),
        "user_history": run_query(con, "data_user_history", {"fold": fold})
        if has_history else pd.DataFrame(),
        "feature_importance": con.execute(
            f"select target, feature, gain from {Tables.ranker_feature_importance}").df()
        if table_exists(con, Tables.ranker_feature_importance) else None,
        "candidate_recall": con.execute(
            f"select fold, target, source, recall, targets, repeat_recall, discovery_recall from "
            f"{Tables.candidate_recall} "
            "where fold = ? order by target, source", [fold]).df()
        if table_exists(con, Tables.candidate_recall) else None,
        "recall_curve": run_query(con, "recall_curve", {"fold": fold})[
            ["target", "model", "k", "value"]],
        "model_runs": con.execute(
            f"select * from {Tables.model_runs} where fold = ? order by target, model", [fold]).df()
        if table_exists(con, Tables.model_runs) else pd.DataFrame(
            columns=["fold", "target", "model", "params", "tuned", "fit_seconds", "predict_seconds"]),
        "tuning": tuning_rows(con),
        "per_user_ndcg": con.execute(
            f"select target, model, uid, value from {Tables.metrics_per_user} where fold = ? "
            "and convention = 'standard' and subset = 'all' and metric = 'ndcg' and k = ?",
            [fold, min(ks, key=lambda k: abs(k - 10))]).df(),
    }
    return out


def _tuned_frame(runs: pd.DataFrame, tuning: pd.DataFrame) -> pd.DataFrame:
    """Per (target, model): the parameters of its row, and for tuned ones the val objective."""
    frame = runs[["target", "model", "params", "tuned"]].merge(
        tuning[["target", "model", "metric", "value", "trials"]], on=["target", "model"], how="left")
    untuned = ~frame["tuned"].astype(bool)
    frame.loc[untuned, ["metric", "value", "trials"]] = [None, float("nan"), float("nan")]
    return frame.drop(columns=["tuned"])


def _per_user_diff(per_user: pd.DataFrame, shown: Sequence[str], baselines: Sequence[str]) -> pd.DataFrame:
    """Per-user NDCG@10 of each model minus that of the strongest single baseline of its target."""
    parts = []
    for target, rows in per_user[per_user["model"].isin(shown)].groupby("target"):
        wide = rows.pivot(index="uid", columns="model", values="value")
        candidates = [m for m in baselines if m in wide]
        if not candidates:
            continue
        best = max(candidates, key=lambda m: (wide[m].mean(), m))
        for model in (m for m in shown if m in wide):  # in the tables' order
            if model != best:
                parts.append(pd.DataFrame({"target": target, "model": model, "baseline": best,
                                           "diff": (wide[model] - wide[best]).to_numpy()}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["target", "model", "baseline", "diff"])


def _evaluated_users(metrics: pd.DataFrame) -> dict[str, int]:
    rows = metrics[(metrics["metric"] == "ndcg") & (metrics["subset"] == "all")]
    return {t: int(u) for t, u in rows.groupby("target")["users"].max().items()}
