"""The DuckDB warehouse: connecting with clear lock errors and atomic writes.

Every write goes through one transaction, so an interrupted run leaves the previous complete
table, never a half-written one.

A run holds DuckDB's own lock of the warehouse from start to end (:func:`holding`, entered by
``recsys.run_lock.holds_run_lock``): one read-write connection stays open, and every
:func:`connect` of that file in the run is a cursor of it. An outside client (a DuckDB shell, a
script) then gets DuckDB's "locked" error when it tries to open the warehouse during the run,
instead of taking the lock between two of the run's connections and stopping it half-way.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from recsys.config import Settings
from recsys.errors import WarehouseError

_LOCK_HINTS = ("could not set lock", "conflicting lock")

# warehouse file -> [settings of the run holding it, its open read-write connection or None]
_HELD: dict[Path, list] = {}


def apply_settings(con: duckdb.DuckDBPyConnection, settings: Settings | None, *,
                   spill_folder: bool = True) -> None:
    """Apply the DuckDB resources of ``settings`` to a connection opened elsewhere.

    Sets ``memory_limit``, ``threads`` (only when given), ``temp_directory`` (created) and
    ``preserve_insertion_order = false``, as :func:`connect` does for the warehouse; e.g. for an
    in-memory ``duckdb.connect()``. ``None`` leaves the connection as it is. ``spill_folder``
    false: the folder was set when the database opened (only created here).
    """
    if settings is None:
        return
    con.execute(f"SET memory_limit = '{settings.memory_limit}'")
    if settings.threads:
        con.execute(f"SET threads = {int(settings.threads)}")
    settings.temp_dir.mkdir(parents=True, exist_ok=True)
    if spill_folder:
        con.execute(f"SET temp_directory = '{settings.temp_dir.as_posix()}'")
    con.execute("SET preserve_insertion_order = false")


def connect(
    path: Path | str,
    *,
    read_only: bool = False,
    settings: Settings | None = None,
    must_exist: bool = True,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, turning DuckDB's lock and missing-file errors into sentences.

    Inside :func:`holding` of ``path`` it is a cursor of the run's connection (its DuckDB
    settings are the run's; ``read_only`` is not enforced there).
    """
    path = Path(path)
    held = _HELD.get(path.resolve())
    if held is not None and (held[1] is not None or path.exists() or not must_exist):
        if held[1] is None:
            held[1] = _open(path, read_only=False, settings=held[0], must_exist=must_exist,
                            keeper=True)
        return held[1].cursor()
    return _open(path, read_only=read_only, settings=settings, must_exist=must_exist)


def _open(path: Path, *, read_only: bool, settings: Settings | None, must_exist: bool = True,
          keeper: bool = False) -> duckdb.DuckDBPyConnection:
    if must_exist and not path.exists():
        raise WarehouseError(
            f"Warehouse {path} does not exist. Build it first with `make build` "
            "(or `dbt build` in dbt_project/), or point RECSYS_WAREHOUSE at an existing file."
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # the run's connection opens with the spill folder dbt-duckdb passes (profiles.yml), so dbt's
    # in-place builds share its database instead of failing on a different configuration
    config = {"temp_directory": str(settings.temp_dir.resolve())} if keeper and settings else {}
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=config)
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
    apply_settings(con, settings, spill_folder=not config)
    return con


@contextmanager
def holding(settings: Settings) -> Iterator[None]:
    """Keep one read-write connection to the warehouse open for the block (opened now if the
    file exists, else at the first :func:`connect` that creates it); nested blocks share it."""
    key = Path(settings.warehouse).resolve()
    if key in _HELD:
        yield
        return
    _HELD[key] = [settings, None]
    try:
        if key.exists():
            connect(key).close()
        yield
    finally:
        con = _HELD.pop(key)[1]
        if con is not None:
            con.close()


def release(path: Path | str) -> None:
    """Close the held connection to ``path`` (before the file is replaced or removed); the next
    :func:`connect` in the block opens it again."""
    held = _HELD.get(Path(path).resolve())
    if held is not None and held[1] is not None:
        held[1].close()
        held[1] = None


def replace_file(staged: Path, target: Path) -> None:
    """Rename ``staged`` over the warehouse ``target`` (atomic); a held connection to ``target``
    is closed before and opened on the new file right after."""
    release(target)
    os.replace(staged, target)
    if Path(target).resolve() in _HELD:
        connect(target).close()


# a warehouse whose free blocks exceed this share of its file (and COMPACT_MIN_BYTES) is
# rewritten into a fresh file at the end of a run (:func:`compact`)
COMPACT_FREE_SHARE = 0.1
COMPACT_MIN_BYTES = 16 * 2**20


def file_usage(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """(bytes of the database file's blocks, bytes of those that are free) of ``con``'s database."""
    block, total, free = con.execute(
        "select block_size, total_blocks, free_blocks from pragma_database_size()").fetchone()
    return int(block) * int(total), int(block) * int(free)


def compact(settings: Settings, *, min_bytes: int = COMPACT_MIN_BYTES) -> tuple[int, int] | None:
    """Rewrite the warehouse into a fresh file when freed blocks make up more than
    :data:`COMPACT_FREE_SHARE` of it, and rename that over it (atomic).

    DuckDB keeps the blocks of dropped and rewritten tables in the file and reuses them only
    for later writes, so without this every rebuild of a mart or rewrite of a Python table
    would leave the file bigger. ``COPY FROM DATABASE`` writes every table and view into the new
    file; it needs the disk space of the blocks in use, and is skipped (None) without it.
    ``min_bytes``: fewer free bytes than this are never worth a rewrite.
    Returns the file's bytes (before, after), or None when nothing was done.
    """
    import shutil

    path = Path(settings.warehouse).resolve()
    if not path.exists():
        return None
    fresh = path.with_name(path.name + ".compact")
    con = connect(path, settings=settings)
    try:
        con.execute("checkpoint")
        size, free = file_usage(con)
        if free <= max(min_bytes, COMPACT_FREE_SHARE * size) \
                or shutil.disk_usage(path.parent).free < size - free + COMPACT_MIN_BYTES:
            return None
        before = path.stat().st_size
        fresh.unlink(missing_ok=True)
        database = con.execute("select current_database()").fetchone()[0]
        con.execute("set enable_progress_bar = false")
        try:
            con.execute(f"attach '{fresh.as_posix()}' as recsys_compact")
            con.execute(f'copy from database "{database}" to recsys_compact')
            con.execute("detach recsys_compact")
        except BaseException:
            fresh.unlink(missing_ok=True)
            raise
    finally:
        con.close()
    release(path)  # the run's connection closes (checkpointed) before the swap
    if path.with_name(path.name + ".wal").exists():  # a write since the copy: keep the file
        fresh.unlink(missing_ok=True)
        return None
    replace_file(fresh, path)
    return before, path.stat().st_size


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


def stored_bytes(con: duckdb.DuckDBPyConnection, names) -> int:
    """Bytes of the database file's blocks that the tables ``names`` occupy (those that exist)."""
    block = con.execute("select block_size from pragma_database_size()").fetchone()[0]
    blocks = 0
    for name in names:
        if table_exists(con, name):
            blocks += con.execute(
                "select count(distinct block_id) + coalesce(sum(len(additional_block_ids)), 0) "
                "from pragma_storage_info(?) where block_id >= 0", [name]).fetchone()[0]
    return int(blocks) * int(block)


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
