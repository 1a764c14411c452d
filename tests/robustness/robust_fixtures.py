"""Helpers of the robustness suite: settings in a work folder, warehouse copies that keep their
name, the robustness config, and the real ``recsys`` CLI in a subprocess."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from recsys.config import Settings

# models of the robustness runs: a seeded one (random), a counting one, a seeded factorization
MODELS = ["random", "mostpop", "ials"]
# the venv's console script (the same interpreter as the tests)
RECSYS = [str(Path(sys.executable).parent / "recsys")]


def work_settings(data_dir: Path, work: Path, name: str = "warehouse.duckdb") -> Settings:
    """Settings whose warehouse, reports and temp dir live in ``work`` (modest DuckDB resources)."""
    return Settings(data_dir=Path(data_dir), size="tiny", warehouse=work / name,
                    reports_dir=work / "reports", memory_limit="2GB", threads=2,
                    temp_dir=work / "tmp")


def copy_settings(settings: Settings, work: Path) -> Settings:
    """A writable copy of ``settings``' warehouse (and reports) in ``work``.

    The file keeps its name: DuckDB names the catalog after the file, and dbt's views refer to
    ``<catalog>.main.<model>``.
    """
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.warehouse, work / settings.warehouse.name)
    if settings.reports_dir.exists():
        shutil.copytree(settings.reports_dir, work / "reports")
    return work_settings(settings.data_dir, work, settings.warehouse.name)


def robust_config(models=MODELS, seed: int = 42) -> dict:
    from recsys.pipeline_config import load_config

    config = load_config()
    config["seed"] = seed
    config["candidates"]["models"] = list(models)
    config["evaluation"]["bootstrap_samples"] = 20
    return config


def data_options(settings: Settings) -> list[str]:
    """``--data-dir``, ``--size`` and ``--warehouse`` of ``settings`` (a command refuses a
    warehouse built from other data than the options name)."""
    return ["--data-dir", str(settings.data_dir), "--size", settings.size,
            "--warehouse", str(settings.warehouse)]


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment of a ``recsys`` subprocess working on ``settings``.

    dbt's artifacts and log go beside the warehouse, not into the shared dbt_project/.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSYS_")}
    env.update(settings.env())
    work = settings.warehouse.parent
    env["DBT_TARGET_PATH"] = str(work / "dbt_target")
    env["DBT_LOG_PATH"] = str(work / "dbt_logs")
    env["DBT_LOG_LEVEL_FILE"] = "info"  # a dbt.log to follow the run by (the CLI silences dbt)
    env["RECSYS_THREADS"] = "2"
    env["RECSYS_MEMORY_LIMIT"] = "2GB"
    return env


def _default_sigint() -> None:
    # a suite started in the background of a shell ignores SIGINT, and children inherit that:
    # give the child Python's Ctrl-C, as a terminal user's run has it
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_cli(settings: Settings, *args: str, cwd: Path) -> subprocess.Popen:
    """Start ``recsys <args>`` in a subprocess (its own dbt target/log folders: cwd)."""
    return subprocess.Popen([*RECSYS, *args], env=cli_env(settings), cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_default_sigint)


def run_cli(settings: Settings, *args: str, cwd: Path, timeout: float = 300):
    proc = start_cli(settings, *args, cwd=cwd)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def table_digests(path: Path) -> dict[str, tuple[int, int]]:
    """(rows, order-free hash of all rows) of every table in the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {n: tuple(con.execute(f'select count(*), coalesce(sum(hash(t)), 0) from "{n}" as t')
                         .fetchone()) for n in names}
    finally:
        con.close()


def kill(proc) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def wait_for(condition, proc, timeout: float = 240.0, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before the kill point:\n{err[-3000:]}")
        if time.monotonic() > deadline:
            kill(proc)
            pytest.fail("the kill point never came")
        time.sleep(step)
