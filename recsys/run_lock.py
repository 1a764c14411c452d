"""One writing ``recsys`` run per warehouse at a time.

DuckDB locks the warehouse file only while a connection is open, and a run such as
``recsys evaluate`` opens and closes it several times (candidates, recommendations, the ranker's
dbt rebuild, metrics). :func:`holds_run_lock` keeps an advisory lock (``flock`` on
``<warehouse>.lock``) for the whole run, so a second run on the same warehouse stops at once with
a clear message instead of interleaving with the first. The operating system releases the lock
when the process ends, even when it is killed; the lock file stays beside the warehouse (it holds
no state), unless the run left no warehouse. Inside it the run also keeps one DuckDB connection
open (``recsys.warehouse.holding``), so clients other than ``recsys`` (a DuckDB shell, a script)
get DuckDB's lock error for the whole run.
Nested calls in one process (``run_evaluate`` -> ranker -> ``dbt_runner.build``) share the lock.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from recsys.errors import WarehouseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: DuckDB's own file lock is all there is
    fcntl = None

_HELD: dict[Path, int] = {}  # warehouse -> nesting depth in this process


def invocation(what: str) -> str:
    """The command line the user typed when this is the ``recsys`` CLI, else ``what``."""
    if Path(sys.argv[0]).name == "recsys":
        return " ".join(["recsys", *sys.argv[1:]])
    return what


def lock_path(warehouse: Path | str) -> Path:
    path = Path(warehouse).resolve()
    return path.with_name(path.name + ".lock")


@contextmanager
def run_lock(warehouse: Path | str, what: str) -> Iterator[None]:
    """Hold the run lock of ``warehouse`` for the block; ``what`` names the run for others.

    Raises
    ------
    WarehouseError
        Another process holds it; the message names that process and its run.
    """
    key = Path(warehouse).resolve()
    if fcntl is None or key in _HELD:
        _HELD[key] = _HELD.get(key, 0) + 1
        try:
            yield
        finally:
            _HELD[key] -= 1
            if not _HELD[key]:
                del _HELD[key]
        return
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip() or "another process"
            raise WarehouseError(
                f"Warehouse {warehouse} is in use by another recsys run ({holder}). Wait for it "
                f"to finish or stop it, then retry; runs on one warehouse go one at a time."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}: {invocation(what)}".encode(), 0)
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            os.ftruncate(fd, 0)
            if not key.exists():  # a run that wrote no warehouse leaves no lock file either
                path.unlink(missing_ok=True)
    finally:
        os.close(fd)  # releases the flock


def holds_run_lock(what: str, *, built: bool = True) -> Callable:
    """Decorate a function whose first argument is a ``Settings``: run it under the run lock.

    The outermost call checks, before any work, that the run can write its folders
    (``Settings.require_writable``) and, with ``built`` (every run but a build), that the
    warehouse was built from the files the settings name (``recsys.state.require_current_build``)
    and that its disk has room for what the run may rewrite. After the run, the warehouse is
    rewritten without its freed blocks when they are many (``recsys.warehouse.compact``).
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(settings, *args, **kwargs):
            outermost = Path(settings.warehouse).resolve() not in _HELD
            if outermost:  # before any work
                settings.require_writable()
            with run_lock(settings.warehouse, what), _holding(settings, outermost):
                if outermost and built and Path(settings.warehouse).exists():
                    _require_current_build_and_space(settings, what)
                result = func(settings, *args, **kwargs)
                if outermost:
                    _compact(settings)
                return result

        return wrapper

    return decorate


def _compact(settings) -> None:
    """The warehouse rewritten without its freed blocks when they are many
    (``recsys.warehouse.compact``), with a line on stderr when that happens."""
    import time

    from recsys.progress import progress_line
    from recsys.warehouse import compact

    start = time.perf_counter()
    done = compact(settings)
    if done is not None:
        progress_line("compact warehouse", time.perf_counter() - start,
                      f"{done[0] / 2**30:.2f} -> {done[1] / 2**30:.2f} GiB: the blocks freed by "
                      "rewritten tables dropped")


def _holding(settings, outermost: bool):
    """DuckDB's own lock of the warehouse for the whole run (``recsys.warehouse.holding``)."""
    from contextlib import nullcontext

    from recsys.warehouse import holding

    return holding(settings) if outermost else nullcontext()


# free space a run needs on the warehouse's disk besides the tables it may rewrite: the
# write-ahead log, DuckDB's spill files when the temp folder is there, the reports
MIN_FREE_BYTES = 256 * 2**20


def _require_current_build_and_space(settings, what: str) -> None:
    """The build check (``recsys.state.require_current_build``), and room for the run: a run may
    rewrite every table Python writes and the candidate mart (new rows are written before the
    old ones' space is freed), so it needs about their size free, plus :data:`MIN_FREE_BYTES`."""
    import shutil

    from recsys import state
    from recsys.columns import Tables
    from recsys.tables import PYTHON_TABLES
    from recsys.warehouse import open_warehouse, stored_bytes

    with open_warehouse(settings) as con:
        state.require_current_build(con, settings)
        rewritten = stored_bytes(con, [*PYTHON_TABLES, Tables.candidate_features])
    folder = Path(settings.warehouse).resolve().parent
    free, need = shutil.disk_usage(folder).free, rewritten + MIN_FREE_BYTES
    if free < need:
        raise WarehouseError(
            f"{invocation(what)} may rewrite the candidates, recommendations, metrics and the "
            f"candidate mart ({rewritten / 2**30:.2f} GiB in the warehouse now) and needs about "
            f"{need / 2**30:.2f} GiB free in {folder}, which has {free / 2**30:.2f} GiB. Free space "
            "there, or move the warehouse (RECSYS_WAREHOUSE) to a disk with room; nothing was "
            "changed.")


__all__ = ["holds_run_lock", "lock_path", "run_lock"]
