"""What the benchmark ran on: cores, memory, load, package versions, git commit."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from recsys.config import REPO_ROOT

PACKAGES = (
    "recsys", "duckdb", "dbt-core", "dbt-duckdb", "pyarrow", "pandas", "numpy", "scipy",
    "implicit", "lightgbm", "threadpoolctl",
)


def _meminfo_gib(path: Path = Path("/proc/meminfo")) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) * 1024 / 2**30, 2)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cpu_model(path: Path = Path("/proc/cpuinfo")) -> str | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return platform.processor() or None


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each package (``None`` if it is not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(root: Path = REPO_ROOT) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def machine_info() -> dict:
    """Cores, memory, CPU model, OS, Python and the load average when the run started.

    The load average matters on a shared machine: a busy neighbour slows every stage.
    """
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = None
    return {
        "hostname": platform.node(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "cpu_model": _cpu_model(),
        "memory_gib": _meminfo_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1_5_15": load,
        "git_commit": git_commit(),
    }
