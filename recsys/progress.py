"""Progress on stderr: a tqdm bar on a terminal; in a log (stderr not a terminal) one line per
finished step (``<desc>: <count> in <seconds> s (<note>)``) instead of ``\\r`` animations."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

from tqdm.auto import tqdm


class LineProgress:
    """The part of tqdm's interface the stages use; prints one line when closed."""

    def __init__(self, iterable: Iterable | None = None, *, total: int | None = None, desc: str = "",
                 unit: str = "it", disable: bool = False, file=None, **_ignored) -> None:
        self.iterable, self.desc, self.unit, self.disable = iterable, desc, unit, disable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total, self.n, self.postfix = total, 0, ""
        self.file = file or sys.stderr
        self.start, self.closed = time.perf_counter(), False

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def reset(self, total: int | None = None) -> None:
        self.n, self.total = 0, total

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.disable:
            return
        count = f"{self.n:,}" + (f"/{self.total:,}" if self.total else "") + f" {self.unit}"
        note = f" ({self.postfix})" if self.postfix else ""
        print(f"{self.desc}: {count} in {time.perf_counter() - self.start:.1f} s{note}",
              file=self.file, flush=True)


def progress_bar(iterable: Iterable | None = None, **kwargs):
    """``tqdm(iterable, **kwargs)`` on a terminal, else a :class:`LineProgress`."""
    stream = kwargs.get("file") or sys.stderr
    if not kwargs.get("disable") and not (hasattr(stream, "isatty") and stream.isatty()):
        return LineProgress(iterable, **kwargs)
    return tqdm(iterable, **kwargs)


def progress_note(bar, text: str) -> None:
    """One line of text beside ``bar``: above a terminal's bar, or a plain line in a log."""
    if isinstance(bar, LineProgress):
        if not bar.disable:
            print(text, file=bar.file, flush=True)
    else:
        tqdm.write(text, file=sys.stderr)


def progress_line(desc: str, seconds: float, note: str = "") -> None:
    """One finished step in :class:`LineProgress`'s format, for a step without a bar."""
    print(f"{desc}: done in {seconds:.1f} s" + (f" ({note})" if note else ""), file=sys.stderr,
          flush=True)
