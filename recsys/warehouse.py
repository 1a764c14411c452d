"""The DuckDB warehouse: connecting with clear lock errors and atomic writes.

Every write goes through one transaction, so an interrupted run leaves the previous complete
table, never a half-written one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from recsys.config import Settings
from recsys.errors import WarehouseError

_LOCK_HINTS = ("could not set lock", "conflicting lock")


def apply_settings(con: duckdb.DuckDBPyConnection, settings: Settings | None) -> None:
    """Apply the DuckDB resources of ``settings`` to a connection opened elsewhere.

    Sets ``memory_limit``, ``threads`` (only when given), ``temp_directory`` (created) and
    ``preserve_insertion_order = false``, as :func:`connect` does for the warehouse; e.g. for an
    in-memory ``duckdb.connect()``. ``None`` leaves the connection as it is.
    """
    if settings is None:
        return
    con.execute(f"SET memory_limit = '{settings.memory_limit}'")
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET temp_directory = '{settings.temp_dir.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    settings: Settings | None = None,
    must_exist: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock and missing-file errors into sentences."""
    path = Path(path)
    if must_exist and not path.exists():
        raise WarehouseError(
            f"Warehouse {path} does not exist. Build it first with `make build` "
            "(or `dbt build` in dbt_project/), or point RECSYS_WAREHOUSE at an existing file."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc).lower()
        if any(h in text for h in _LOCK_HINTS):
            raise WarehouseError(
                f"Warehouse {path} is locked by another process (a running `recsys`/`dbt` job or an "
                "open DuckDB shell). Close that process or wait for it to finish, then retry. "
                f"DuckDB said: {exc}"
            ) from exc
        raise WarehouseError(
            f"Cannot open warehouse {path}: {exc}. If the file is damaged, move it aside "
            f"(`mv {path} {path}.damaged`) and rebuild it with `recsys build`.") from exc
    except duckdb.Error as exc:  # a damaged or foreign file: DuckDB's serialization errors
        raise WarehouseError(
            f"Cannot open warehouse {path}: it is damaged or not a DuckDB database ({exc}). "
            f"Move it aside (`mv {path} {path}.damaged`) and rebuild it with `recsys build`."
        ) from exc
    apply_settings(con, settings)
    return con


@contextmanager
def open_warehouse(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings.warehouse, read_only=read_only, settings=settings)
    try:
        yield con
    finally:
        con.close()


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


def require_tables(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    missing = [n for n in names if not table_exists(con, n)]
    if missing:
        raise WarehouseError(
            f"Warehouse lacks table(s) {', '.join(missing)}. Run `make build` (dbt build) first."
        )


def fold_names(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The folds of the built warehouse (the dbt mart ``folds``), latest cut-off first."""
    from recsys.columns import Tables

    require_tables(con, Tables.folds)
    rows = con.execute(f"select fold from {Tables.folds} order by history_end_ts desc").fetchall()
    return [r[0] for r in rows]


def check_fold(con: duckdb.DuckDBPyConnection, fold: str) -> None:
    """Fail unless ``fold`` is a row of the ``folds`` mart (naming the folds it has)."""
    from recsys.errors import ConfigError

    have = fold_names(con)
    if fold not in have:
        raise ConfigError(
            f"Unknown fold {fold!r}: the warehouse has folds {', '.join(have)}. Folds val_<k> "
            "(k >= 2) exist when the build has dbt var n_folds > k (`recsys build --config F` "
            "sets it from ranker.train_folds)."
        )
