"""Score the ``recommendations`` table with the SQL in ``sql/metrics/``.

Writes ``metrics_per_user`` (accuracy.sql, popularity.sql, diversity.sql with ``per_user``) and
``metrics`` (aggregate.sql over it, plus coverage.sql), one fold at a time, each fold in one
transaction: an interrupted run leaves the previous complete result of that fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from recsys.columns import Tables
from recsys.errors import WarehouseError
from recsys.evaluation.sql import set_variables, sql_text
from recsys.progress import progress_bar
from recsys.sections.evaluation import check_conventions
from recsys.tables import write_metrics
from recsys.warehouse import require_tables, table_exists

# per-user query -> the tables it needs beyond recommendations and eval_targets
_PER_USER_QUERIES = {
    "accuracy": (),
    "popularity": ("train_interactions", "item_features"),
    "diversity": (Tables.item_embeddings,),
}
_AGGREGATE_QUERIES = {"coverage": ("train_interactions",)}
# queries defined in one convention only (the others run once per convention)
_STANDARD_ONLY = frozenset({"popularity", "diversity"})


@dataclass
class MetricsRun:
    """What :func:`compute_metrics` wrote: the ``metrics`` rows of the scored folds."""

    metrics: pd.DataFrame
    folds: list[str]
    skipped: list[str] = field(default_factory=list)  # queries not run, with the reason


def check_recommendations(con: duckdb.DuckDBPyConnection) -> None:
    """Fail with a clear message when a list repeats an item or a rank, or a rank is < 1."""
    row = con.execute(
        f"""
        select
            (select count(*) from (select 1 from {Tables.recommendations}
                group by fold, target, model, uid, item_id having count(*) > 1)),
            (select count(*) from (select 1 from {Tables.recommendations}
                group by fold, target, model, uid, rank having count(*) > 1)),
            (select count(*) from {Tables.recommendations} where rank < 1 or rank is null)
        """
    ).fetchone()
    problems = []
    if row[0]:
        problems.append(f"{row[0]} (user, model) lists repeat an item")
    if row[1]:
        problems.append(f"{row[1]} (user, model) lists repeat a rank")
    if row[2]:
        problems.append(f"{row[2]} rows have a rank below 1 or no rank")
    if problems:
        raise WarehouseError(
            f"Table {Tables.recommendations} breaks its contract (one row per fold, target, model, "
            f"uid, rank; distinct items; rank 1-based): {'; '.join(problems)}. Rewrite it with "
            "`recsys evaluate` or fix the stage that wrote it."
        )


def recommendation_folds(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        f"select distinct fold from {Tables.recommendations} "
        f"where fold in (select distinct fold from {Tables.eval_targets}) order by fold"
    ).fetchall()
    return [r[0] for r in rows]


def compute_metrics(
    con: duckdb.DuckDBPyConnection,
    *,
    ks: Sequence[int] = (10, 100),
    folds: Sequence[str] | None = None,
    conventions: Sequence[str] = ("standard",),
    diversity_ks: Sequence[int] | None = None,
    models: Sequence[str] | None = None,
    progress: bool = False,
) -> MetricsRun:
    """Run every metrics query for each fold and replace that fold's rows in both tables.

    Parameters
    ----------
    con
        An open read-write warehouse connection holding ``recommendations`` and ``eval_targets``.
    ks
        Cut-offs.
    folds
        Folds to score; ``None`` scores every fold present in ``recommendations``.
    conventions
        Metric conventions to compute (``standard``, ``paper``, ``official``; sql/metrics/README.md):
        accuracy.sql and coverage.sql run once per convention, popularity and diversity once.
    diversity_ks
        Cut-offs for diversity.sql (default: ``ks``). Its cost grows with k x 128 embedding
        components per list, so the default config computes it at k = 10 only.
    models
        Score only these models' lists and replace only their rows (SQL variable ``models``);
        ``None``: every model of the fold.
    progress
        Show a bar over folds on stderr.

    Returns
    -------
    MetricsRun
        The ``metrics`` rows of the scored folds, and the queries
        skipped because an optional table (item_features, item_embeddings, ...) is missing.
    """
    require_tables(con, Tables.recommendations, Tables.eval_targets)
    check_recommendations(con)
    if not ks or any(int(k) < 1 for k in ks):
        raise WarehouseError(f"Cut-offs must be positive integers, got {list(ks)}.")
    conventions = check_conventions(conventions)
    folds = list(folds) if folds is not None else recommendation_folds(con)
    skipped = []
    per_user_queries, aggregate_queries = [], []
    for queries, out in ((_PER_USER_QUERIES, per_user_queries), (_AGGREGATE_QUERIES, aggregate_queries)):
        for name, needs in queries.items():
            missing = [t for t in needs if not table_exists(con, t)]
            if missing:
                skipped.append(f"{name}.sql (no table {', '.join(missing)})")
            else:
                out.append(name)
    for fold in progress_bar(folds, desc="metrics", unit="fold", disable=not progress, leave=False):
        _score_fold(con, fold, ks, conventions, per_user_queries, aggregate_queries,
                    {"diversity": list(diversity_ks) if diversity_ks else list(ks)},
                    None if models is None else list(models))
    metrics = con.execute(
        f"select * from {Tables.metrics} where list_contains($folds, fold) "
        "and ($models is null or list_contains($models, model)) order by all",
        {"folds": folds, "models": None if models is None else list(models)}).df()
    return MetricsRun(metrics=metrics, folds=folds, skipped=skipped)


def _score_fold(con, fold, ks, conventions, per_user_queries, aggregate_queries, query_ks,
                models) -> None:
    def per_user(con: duckdb.DuckDBPyConnection, table: str) -> None:
        for convention in conventions:
            for name in per_user_queries:
                if name in _STANDARD_ONLY and convention != "standard":
                    continue
                set_variables(con, {"ks": query_ks.get(name, list(ks)), "fold": fold,
                                    "convention": convention, "per_user": True, "models": models})
                con.execute(f"insert into {table} by name "
                            f"select * exclude (users) from ({sql_text(name)})")

    def aggregate(con: duckdb.DuckDBPyConnection, table: str) -> None:
        con.execute(f"insert into {table} by name select * from ({sql_text('aggregate')})")
        for convention in conventions:
            set_variables(con, {"per_user": False, "ks": list(ks), "convention": convention})
            for name in aggregate_queries:
                con.execute(f"insert into {table} by name "
                            f"select * exclude (uid) from ({sql_text(name)})")

    try:
        write_metrics(con, fold, per_user, aggregate, models)
    finally:
        set_variables(con, {"ks": None, "fold": None, "convention": None, "per_user": None,
                            "models": None})
