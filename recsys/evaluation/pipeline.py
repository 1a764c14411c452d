"""``recsys evaluate``: candidates -> recommendations -> SQL metrics -> uncertainty -> reports.

The pipeline opens the warehouse only around its own steps and closes it before it calls the
candidate and ranking stages (they open it themselves; DuckDB allows one writer at a time).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from recsys.atomic import write_text_atomic as write_atomic
from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.errors import ConfigError, WarehouseError
from recsys.evaluation.report import ReportData, render_html
from recsys.evaluation.runner import compute_metrics
from recsys.evaluation.sql import run_query, shell_command
from recsys.evaluation.tables import csv_frame, paper_table
from recsys.evaluation.uncertainty import ordered_models, with_uncertainty
from recsys.run_lock import holds_run_lock
from recsys.run_manifest import MANIFEST_NAME, build_manifest, manifest_json, warehouse_profile
from recsys.warehouse import open_warehouse, require_tables, table_exists

RECOMMENDATIONS_DDL = f"""
create table if not exists {Tables.recommendations} (
    fold varchar, target varchar, model varchar, uid uinteger, item_id uinteger,
    rank integer, score double
)"""
FEATURE_IMPORTANCE_TABLE = "ranker_feature_importance"


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


def evaluation_settings(config: dict) -> dict:
    """The ``evaluation`` section, checked: positive cut-offs, none above ``top_k``."""
    ev = dict(config["evaluation"])
    ks = [int(k) for k in ev["ks"]]
    top_k = int(ev["top_k"])
    if not ks or min(ks) < 1 or max(ks) > top_k:
        raise ConfigError(
            f"evaluation.ks={ks} must be positive and at most evaluation.top_k={top_k} "
            "(recommendations keep only top_k items per user); raise top_k or lower ks."
        )
    if not 0 < float(ev["confidence"]) < 1 or int(ev["bootstrap_samples"]) < 1:
        raise ConfigError("evaluation.confidence must lie in (0, 1) and bootstrap_samples be >= 1.")
    diversity_ks = [int(k) for k in (ev.get("diversity_ks") or ks)]
    if min(diversity_ks) < 1 or max(diversity_ks) > top_k:
        raise ConfigError(f"evaluation.diversity_ks={diversity_ks} must lie in 1..top_k={top_k}.")
    return {**ev, "ks": ks, "top_k": top_k, "diversity_ks": diversity_ks}


def write_recommendations(
    con: duckdb.DuckDBPyConnection, fold: str, target: str, model: str, top_k: int
) -> int:
    """Replace the (fold, target, model) slice of ``recommendations`` with the model's top-k
    candidates of every evaluated user, in one transaction. Returns the rows written."""
    require_tables(con, Tables.candidates, Tables.eval_targets)
    con.execute(RECOMMENDATIONS_DDL)
    key = [fold, target, model]
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {Tables.recommendations} where fold = ? and target = ? and model = ?", key)
        con.execute(
            f"""
            insert into {Tables.recommendations} (fold, target, model, uid, item_id, rank, score)
            select c.fold, c.target, c.model, c.uid, c.item_id, c.rank, c.score
            from {Tables.candidates} as c
            semi join (select distinct uid from {Tables.eval_targets} where fold = ? and target = ?) as e
                on e.uid = c.uid
            where c.fold = ? and c.target = ? and c.model = ? and c.rank <= ?
            """,
            [fold, target, *key, top_k],
        )
        rows = con.execute(
            f"select count(*) from {Tables.recommendations} where fold = ? and target = ? and model = ?", key
        ).fetchone()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return int(rows)


def require_targets(settings: Settings, fold: str) -> None:
    """Fail before anything is fitted or written when ``fold`` lacks targets of a target type.

    An empty target window (the log ends before it, or no user with history has an event in it)
    or a target type with no events would otherwise stop the run half-way.
    """
    with open_warehouse(settings, read_only=True) as con:
        require_tables(con, Tables.eval_targets)
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


def _two_stage_entry() -> Callable | None:
    try:
        ranking = importlib.import_module("recsys.ranking")
    except ImportError:
        return None
    return getattr(ranking, "run_two_stage", None)


@holds_run_lock("recsys evaluate")
def run_evaluate(
    settings: Settings,
    config: dict,
    *,
    fold: str = "test",
    models: Sequence[str] | None = None,
    two_stage: bool = True,
    progress: bool = True,
) -> EvaluateResult:
    """Fit the generators (and the two-stage model), write ``recommendations``, score, report.

    Parameters
    ----------
    settings, config
        Paths and resources; the pipeline config (``evaluation``, ``candidates``, ``ranker``).
    fold
        The fold to evaluate (``test`` by default; ``val`` for tuning checks).
    models
        Generators to fit; default ``candidates.models``. The two-stage model's name
        (``ranker.model_name``) may be listed too.
    two_stage
        Also train and apply the two-stage ranker when ``recsys.ranking`` provides it (and, when
        ``models`` is given, only if it lists the two-stage model's name).
    progress
        Progress bars on stderr.
    """
    ev = evaluation_settings(config)
    require_targets(settings, fold)
    two_stage_name = (config.get("ranker") or {}).get("model_name", "two_stage")
    chosen = list(models) if models else list(config["candidates"]["models"])
    generators = [m for m in chosen if m != two_stage_name]
    want_two_stage = two_stage and (not models or two_stage_name in chosen)
    notes = []
    if generators:
        from recsys.candidates import run_candidates  # lazy: heavy imports (implicit, scipy)

        runs = run_candidates(settings, config, folds=[fold], targets=TARGETS, models=generators,
                              progress=progress)
        with open_warehouse(settings) as con:
            for run in runs:
                write_recommendations(con, run.fold, run.target, run.model, ev["top_k"])
    if want_two_stage and fold == "val":
        # the ranker is trained on val: scoring it there would be in-sample
        notes.append("two-stage model skipped on the val fold: it is trained on val")
        want_two_stage = False
    if want_two_stage:
        entry = _two_stage_entry()
        if entry is None:
            notes.append("two-stage model skipped: recsys.ranking.run_two_stage is not available")
        else:
            entry(settings, config, fold=fold, targets=TARGETS, progress=progress)
    report_models = chosen + ([two_stage_name] if want_two_stage and two_stage_name not in chosen else [])
    return score_and_report(settings, config, fold=fold, models=report_models, progress=progress,
                            notes=notes)


@holds_run_lock("recsys metrics")
def score_and_report(
    settings: Settings,
    config: dict,
    *,
    fold: str = "test",
    models: Sequence[str] | None = None,
    progress: bool = True,
    notes: Sequence[str] = (),
) -> EvaluateResult:
    """Score the ``recommendations`` already in the warehouse for ``fold`` and write reports.

    Writes ``metrics_per_user`` and ``metrics``, then ``<reports_dir>/metrics.csv``,
    ``paired_tests.csv``, ``report.html`` and ``run_manifest.json`` (config, seeds, package
    versions, data profile; ``recsys.run_manifest``), each to a temporary file renamed into place.
    ``models`` limits the table and reports (default: every model with recommendations).
    """
    ev = evaluation_settings(config)
    notes = list(notes)
    with open_warehouse(settings) as con:
        require_tables(con, Tables.recommendations, Tables.eval_targets)
        present = {r[0] for r in con.execute(
            f"select distinct model from {Tables.recommendations} where fold = ?", [fold]).fetchall()}
        if not present:
            raise WarehouseError(
                f"No recommendations for fold {fold!r}. Run `recsys evaluate --fold {fold}` "
                "(or the candidate/ranker stages) first."
            )
        run = compute_metrics(con, ks=ev["ks"], folds=[fold], yambda_official=bool(ev["yambda_official"]),
                              diversity_ks=ev["diversity_ks"], progress=progress)
        notes += [f"not computed: {s}" for s in run.skipped]
        metrics, tests = with_uncertainty(
            con, run.metrics, samples=int(ev["bootstrap_samples"]), confidence=float(ev["confidence"]),
            seed=int(config.get("seed", 42)), progress=progress)
        item_popularity = run_query(con, "data_item_popularity", {"fold": fold}) \
            if table_exists(con, Tables.train_interactions) else pd.DataFrame()
        user_history = run_query(con, "data_user_history", {"fold": fold}) \
            if table_exists(con, Tables.train_interactions) else pd.DataFrame()
        importance = con.execute(f"select target, feature, gain from {FEATURE_IMPORTANCE_TABLE}").df() \
            if table_exists(con, FEATURE_IMPORTANCE_TABLE) else None
        marts = warehouse_profile(con, fold)
    preferred = [*config["candidates"]["models"], (config.get("ranker") or {}).get("model_name", "two_stage")]
    shown = ordered_models([m for m in present if not models or m in set(models)], preferred)
    missing = [m for m in (models or []) if m not in present]
    if missing:
        notes.append(f"no recommendations for fold {fold} from: {', '.join(missing)}")
    metrics = metrics[metrics["model"].isin(shown)]
    if not tests.empty:
        tests = tests[tests["model"].isin(shown) & tests["best_model"].isin(shown)]
    targets = [t for t in TARGETS if t in set(metrics["target"])]
    users = _evaluated_users(metrics)
    table = paper_table(metrics, fold=fold, targets=targets, ks=ev["ks"], models=shown, users=users)
    reports = Path(settings.reports_dir)
    metrics_csv = write_atomic(reports / "metrics.csv", csv_frame(metrics).to_csv(index=False))
    tests_csv = write_atomic(reports / "paired_tests.csv", tests.to_csv(index=False))
    variables = {"ks": ev["ks"], "fold": fold}
    official = {"yambda_official": True} if ev["yambda_official"] else {}
    commands = [shell_command(settings.warehouse, q, {**variables, **official})
                for q in ("accuracy", "coverage", "popularity")]
    commands.append(shell_command(settings.warehouse, "diversity",
                                  {**variables, "ks": ev["diversity_ks"]}))
    data = ReportData(
        fold=fold, targets=targets, ks=ev["ks"], models=shown, metrics=metrics, tests=tests,
        item_popularity=item_popularity, user_history=user_history, feature_importance=importance,
        settings_lines=[
            f"dataset {settings.size} ({settings.data_dir}), warehouse {settings.warehouse}",
            f"cut-offs {ev['ks']}, top {ev['top_k']} recommendations per user, "
            f"{ev['bootstrap_samples']} bootstrap resamples, seed {config.get('seed', 42)}",
            "official Yambda conventions (targets with repeats, Recall over min(|T|, k))"
            if ev["yambda_official"] else "binary relevance over distinct target items",
        ],
        notes=notes, shell_commands=commands, confidence=float(ev["confidence"]),
    )
    report_html = write_atomic(reports / "report.html", render_html(data))
    # config, seeds, package versions and data profile behind these numbers
    write_atomic(reports / MANIFEST_NAME, manifest_json(
        build_manifest(settings, config, fold=fold, models=shown, marts=marts)))
    return EvaluateResult(fold=fold, table=table, metrics=metrics, tests=tests,
                          metrics_csv=metrics_csv, tests_csv=tests_csv, report_html=report_html,
                          notes=notes)


def _evaluated_users(metrics: pd.DataFrame) -> dict[str, int]:
    rows = metrics[(metrics["metric"] == "ndcg") & (metrics["subset"] == "all")]
    return {t: int(u) for t, u in rows.groupby("target")["users"].max().items()}
