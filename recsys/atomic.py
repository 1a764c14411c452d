"""Atomic file writes: a temp file beside the target, then one rename.

A reader (or a run killed half-way) sees either the previous complete file or the new one.
:func:`write_texts_atomic` writes a group of files (a report's CSVs and HTML, a model and its
metadata) to temp files first, so a full disk stops it before any file of the group is replaced.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path`` and rename it over ``path``."""
    return _write_atomic(path, text, binary=False)


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it over ``path``."""
    return _write_atomic(path, data, binary=True)


def pickle_atomic(path: Path, obj) -> Path:
    """Pickle ``obj`` into a temporary file beside ``path`` (streamed: no second copy of a large
    object in memory) and rename it over ``path``."""
    import pickle

    return _write_atomic(path, lambda handle: pickle.dump(obj, handle,
                                                          protocol=pickle.HIGHEST_PROTOCOL),
                         binary=True)


def write_texts_atomic(files: Mapping[Path, str]) -> list[Path]:
    """Write every ``path: text`` of ``files`` to a temporary file beside it, then rename them
    all into place: a write that fails (a full disk) leaves every previous file as it was."""
    written: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            written.append((_write_temp(Path(path), text, binary=False), Path(path)))
        for tmp, path in written:
            os.replace(tmp, path)
    except BaseException:
        for tmp, _ in written:
            Path(tmp).unlink(missing_ok=True)
        raise
    return [path for _, path in written]


def _write_temp(path: Path, content, *, binary: bool) -> str:
    """A complete temporary file beside ``path`` holding ``content`` (removed if writing fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            if callable(content):  # writes itself to the handle
                content(handle)
            else:
                handle.write(content)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual file mode
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _write_atomic(path: Path, content, *, binary: bool) -> Path:
    path = Path(path)
    tmp = _write_temp(path, content, binary=binary)
    try:
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
