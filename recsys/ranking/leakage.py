"""Guards that the ranking table of a fold holds no information from at or after its cut-off.

Checked on ``candidate_features`` for one fold (cheap, run before every training and ranking):

* no label column: the non-key columns of ``eval_targets`` (``is_organic``, ``target_events``,
  ``first_target_ts``, ...) must not appear among the features;
* every timestamp column (``*_ts``) is ``< history_end_ts`` of the fold (``history_end_ts``
  itself excepted); absolute timestamps are never features, but a value past the cut-off shows
  the mart read future events;
* every elapsed-time column (``*_since_*``, ``days_since*``, ``seconds_since*``) is ``>= 0``.

The end-to-end proof (features equal on data with every event at or after the cut-off removed)
is ``tests/ranking/test_ranking_leakage.py``.
"""

from __future__ import annotations

import duckdb

from recsys.columns import Tables
from recsys.errors import RecsysError
from recsys.ranking.dataset import KEY_COLUMNS, _quote, column_types
from recsys.warehouse import require_tables


class LeakageError(RecsysError):
    """A feature of the ranking table was computed from events at or after the fold's cut-off."""


def _is_elapsed(name: str) -> bool:
    return "_since_" in name or name.startswith(("days_since", "seconds_since", "hours_since"))


def check_point_in_time(con: duckdb.DuckDBPyConnection, fold: str) -> list[str]:
    """Raise :class:`LeakageError` if ``candidate_features`` of ``fold`` breaks a rule above.

    Returns the names of the columns that were checked against the cut-off.
    """
    require_tables(con, Tables.candidate_features, Tables.eval_targets, Tables.folds)
    types = column_types(con, Tables.candidate_features)
    label_columns = set(column_types(con, Tables.eval_targets)) - set(KEY_COLUMNS)
    problems = [f"label column {c!r} is in candidate_features" for c in sorted(label_columns & set(types))]
    row = con.execute("select history_end_ts from folds where fold = ?", [fold]).fetchone()
    if row is None:
        raise LeakageError(f"Table folds has no fold {fold!r}; rebuild the marts (dbt build).")
    cut = int(row[0])
    ts_columns = [c for c in types if c.endswith("_ts") and c != "history_end_ts"]
    elapsed = [c for c in types if _is_elapsed(c)]
    checks = [f"max({_quote(c)}) >= {cut}" for c in ts_columns]
    checks += [f"min({_quote(c)}) < 0" for c in elapsed]
    if checks:
        sql = "select " + ", ".join(f"coalesce({c}, false)" for c in checks)
        flags = con.execute(sql + " from candidate_features where fold = ?", [fold]).fetchone()
        for column, flag in zip([*ts_columns, *elapsed], flags, strict=True):
            if flag:
                rule = f"reaches the cut-off {cut}" if column in ts_columns else "is negative"
                problems.append(f"{column} {rule} in fold {fold!r}")
    if problems:
        raise LeakageError(
            "candidate_features leaks future information: " + "; ".join(problems)
            + ". Fix the dbt model (features must use only events with timestamp < history_end_ts)."
        )
    return ts_columns + elapsed
