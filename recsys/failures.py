"""Resource failures as sentences: a full disk, a damaged warehouse file, DuckDB out of memory,
a signal. :func:`explain` turns the raw exception (``OSError``, a DuckDB error) into a
``RecsysError`` that names the file or resource and the fix; the CLI shows it as one message and
exits 1. Every write is one transaction or a staged file renamed on success, so the previous
warehouse and reports are intact whichever of these stops a run.
"""

from __future__ import annotations

import errno
import re
import signal

import duckdb

from recsys.errors import RecsysError


class ResourceError(RecsysError):
    """The machine ran out of something (disk, memory) or a file is damaged."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM arrived: unwinds like Ctrl-C, so every staged file and lock is cleaned up."""


_DISK_FULL = ("no space left on device", "disk is full", "could not write", "not enough space")
_DAMAGED = ("not a valid duckdb database", "corrupt", "checksum", "invalid metadata",
            "is not a duckdb", "serialization error")


def _path_in(text: str) -> str | None:
    found = re.search(r"""["']?(/[^\s"':]+\.(?:duckdb|wal|building|parquet|csv|html|json|txt))""", text)
    return found.group(1) if found else None


def explain(exc: BaseException, warehouse: str | None = None) -> RecsysError | None:
    """The sentence for a resource failure, or None when ``exc`` is not one."""
    text = str(exc)
    low = text.lower()
    where = getattr(exc, "filename", None) or _path_in(text) or warehouse or "the output folder"
    if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or any(h in low for h in _DISK_FULL):
        return ResourceError(
            f"The disk is full: could not write {where}. Free space there (or point "
            "RECSYS_WAREHOUSE / RECSYS_TEMP_DIR / RECSYS_REPORTS_DIR at a disk with room) and run "
            "the command again; nothing half-written was kept (each table and report file is the "
            "previous one or a complete new one).")
    if isinstance(exc, duckdb.OutOfMemoryException) or "out of memory" in low:
        return ResourceError(
            f"DuckDB ran out of memory ({text.splitlines()[0][:200]}). Raise RECSYS_MEMORY_LIMIT, "
            "lower RECSYS_THREADS, or give RECSYS_TEMP_DIR a disk with room to spill; nothing "
            "half-written was kept.")
    damaged = isinstance(exc, duckdb.FatalException) or any(h in low for h in _DAMAGED)
    if isinstance(exc, duckdb.Error) and damaged and ".parquet" not in low:
        target = warehouse or where
        return ResourceError(
            f"The warehouse file {target} is damaged or not a DuckDB database ({text.splitlines()[0][:200]}). "
            f"Move it aside (`mv {target} {target}.damaged`) and rebuild it with `recsys build`.")
    return None


def install_signal_handlers() -> None:
    """SIGTERM ends the run as Ctrl-C does (``Interrupted``): cleanup code runs, the lock goes."""

    def terminate(signum, frame):  # noqa: ARG001
        raise Interrupted(f"signal {signal.Signals(signum).name}")

    signal.signal(signal.SIGTERM, terminate)
