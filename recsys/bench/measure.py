"""Run one benchmark stage as a child process and measure it.

Each stage is a separate process, so its peak memory is its own: ``os.wait4`` returns the
child's resource usage (user and system CPU time, and ``ru_maxrss``, the largest resident set of
the child and of every descendant it waited for). Wall time is measured around the child with a
monotonic clock. Output goes to a log file, never to a pipe, so a chatty stage cannot block.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from recsys.errors import RecsysError

# ru_maxrss is in kilobytes on Linux
_KB = 1024


@dataclass
class StageResult:
    """What one stage cost.

    Attributes
    ----------
    name : str
        Stage name (``generate``, ``build``, ``candidates``, ...).
    command : list[str]
        The command line that ran.
    status : str
        ``ok``, ``failed`` (non-zero exit), ``reused`` (not run, earlier numbers kept) or ``skipped``.
    wall_s, user_s, sys_s : float
        Elapsed time, and CPU time in user and kernel mode, in seconds.
    peak_rss_mb : float
        Peak resident memory of the child process tree, in MiB.
    returncode : int | None
        Exit code of the child (negative: killed by that signal).
    """

    name: str
    command: list[str]
    status: str = "ok"
    wall_s: float = 0.0
    user_s: float = 0.0
    sys_s: float = 0.0
    peak_rss_mb: float = 0.0
    returncode: int | None = None
    log: str | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def to_dict(self) -> dict:
        out = asdict(self)
        out["cpu_s"] = round(self.cpu_s, 3)
        for key in ("wall_s", "user_s", "sys_s", "peak_rss_mb"):
            out[key] = round(out[key], 3)
        return out


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_stage(
    name: str,
    command: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | str | None = None,
    log_path: Path | None = None,
    niceness: int = 0,
) -> StageResult:
    """Run ``command`` as one child process and measure wall time, CPU time and peak RSS.

    Parameters
    ----------
    name : str
        Stage name recorded in the result.
    command : sequence of str
        The command line (no shell).
    env : mapping, optional
        Full environment of the child (default: this process's environment).
    cwd : path, optional
        Working directory of the child.
    log_path : Path, optional
        File that receives the child's stdout and stderr (default: discarded).
    niceness : int
        Added to the child's nice value (the CPU is shared; benchmarks run politely).

    Returns
    -------
    StageResult
        ``status`` is ``failed`` with the log's last lines in ``error`` if the child exits non-zero.
        The harness never raises for a failing stage, so the other stages are still reported.

    Examples
    --------
    >>> r = run_stage("noop", ["true"])
    >>> r.status, r.returncode
    ('ok', 0)
    """
    command = [str(c) for c in command]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "wb")  # noqa: SIM115 - closed below
    else:
        out = open(os.devnull, "wb")  # noqa: SIM115
    preexec = (lambda: os.nice(niceness)) if niceness else None
    try:
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None, cwd=cwd, preexec_fn=preexec,
            )
        except OSError as exc:
            raise RecsysError(f"Benchmark stage {name!r} could not start {command[0]!r}: {exc}") from exc
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not reap it again
    finally:
        out.close()
    result = StageResult(
        name=name,
        command=command,
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss * _KB / 2**20,
        returncode=proc.returncode,
        log=str(log_path) if log_path is not None else None,
    )
    if proc.returncode != 0:
        result.status = "failed"
        tail = _tail(log_path) if log_path is not None else ""
        result.error = f"exit code {proc.returncode}" + (f"; last lines of the log:\n{tail}" if tail else "")
    return result
