"""Run the files in ``sql/metrics/`` from Python exactly as the DuckDB shell runs them.

The queries read their parameters with ``getvariable('name')`` (DuckDB session variables), the
one binding mechanism that works unchanged in both the Python client and the ``duckdb`` shell,
where ``$name`` parameters need ``PREPARE``. Python sets each variable with a bound parameter
(``SET VARIABLE ks = $value``), never by formatting values into SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import duckdb
import pandas as pd

from recsys.config import SQL_DIR
from recsys.errors import ConfigError

METRICS_SQL_DIR = SQL_DIR / "metrics"

# metric name -> the file that computes it (the README and the report cite these)
METRIC_FILES: dict[str, str] = {
    "ndcg": "accuracy.sql",
    "recall": "accuracy.sql",
    "precision": "accuracy.sql",
    "hitrate": "accuracy.sql",
    "mrr": "accuracy.sql",
    "map": "accuracy.sql",
    "coverage": "coverage.sql",
    "novelty": "popularity.sql",
    "popularity_bias": "popularity.sql",
    "diversity": "diversity.sql",
}
ACCURACY_METRICS = ("ndcg", "recall", "precision", "hitrate", "mrr", "map")
BEYOND_ACCURACY_METRICS = ("coverage", "novelty", "popularity_bias", "diversity")
SUBSETS = ("all", "organic", "recommendation", "repeat", "discovery")
# the accuracy metrics each convention defines (mrr and map: standard only)
CONVENTION_METRICS = {"standard": ACCURACY_METRICS, "paper": ACCURACY_METRICS[:4],
                      "official": ACCURACY_METRICS[:4]}
VARIABLES = ("ks", "fold", "convention", "per_user", "curve_ks", "models")


def sql_text(name: str) -> str:
    """The text of ``sql/metrics/<name>`` (``name`` with or without ``.sql``)."""
    path = METRICS_SQL_DIR / (name if name.endswith(".sql") else f"{name}.sql")
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in METRICS_SQL_DIR.glob("*.sql")))
        raise ConfigError(f"No metrics query {path}. Known queries: {known}.")
    return path.read_text()


def set_variables(con: duckdb.DuckDBPyConnection, variables: Mapping[str, object]) -> None:
    """Set (or, for ``None``, reset) the DuckDB session variables the queries read."""
    for name, value in variables.items():
        if name not in VARIABLES:
            raise ConfigError(f"Unknown metrics query variable {name!r}; known: {', '.join(VARIABLES)}.")
        if value is None:
            con.execute(f"RESET VARIABLE {name}")
        elif name in ("ks", "curve_ks"):
            con.execute(f"SET VARIABLE {name} = $value::INTEGER[]", {"value": [int(k) for k in value]})
        elif name == "models":
            con.execute(f"SET VARIABLE {name} = $value::VARCHAR[]", {"value": [str(m) for m in value]})
        else:
            con.execute(f"SET VARIABLE {name} = $value", {"value": value})


def run_query(
    con: duckdb.DuckDBPyConnection,
    name: str,
    variables: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """Run ``sql/metrics/<name>.sql`` with the given variables and return its rows.

    Every known variable not given is reset, so a value left over from an earlier call never
    leaks into this one (the file's documented default applies instead).
    """
    values = {v: None for v in VARIABLES}
    values.update(variables or {})
    set_variables(con, values)
    return con.execute(sql_text(name)).df()


def shell_command(warehouse: Path | str, name: str, variables: Mapping[str, object]) -> str:
    """The ``duckdb`` shell command line that runs the same query (for the README and report)."""
    parts = [".venv/bin/duckdb", "-readonly", str(warehouse)]
    for key, value in variables.items():
        if value is None:
            continue
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, str):
            literal = "'" + value.replace("'", "''") + "'"
        elif isinstance(value, list | tuple):
            literal = "[" + ", ".join("'" + v.replace("'", "''") + "'" if isinstance(v, str)
                                      else str(int(v)) for v in value) + "]"
        else:
            literal = str(value)
        parts.append(f'-c "SET VARIABLE {key} = {literal}"')
    parts.append(f'-c ".read sql/metrics/{name if name.endswith(".sql") else name + ".sql"}"')
    return " ".join(parts)
