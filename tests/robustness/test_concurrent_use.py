"""Concurrent use: a warehouse held by another process (a DuckDB shell, a Python connection, a
running ``recsys evaluate``) makes ``recsys evaluate`` / ``metrics`` / ``build`` stop with a clear
message about the lock; nothing is written and the tables stay intact."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from robust_fixtures import copy_settings, kill, start_cli, table_digests, wait_for

from recsys.cli import main
from recsys.run_lock import lock_path, run_lock

pytestmark = pytest.mark.slow
DUCKDB_LOCK = "is locked by another process (a running `recsys`/`dbt` job or an open DuckDB shell)"
# "(pid N: command)", or "(another process)" in the instant the holder ends and has cleared it
RUN_LOCK = "is in use by another recsys run ("


def second_runs(settings):
    """(name, CLI result) of the commands a user would start while the warehouse is busy."""
    common = ["--warehouse", str(settings.warehouse), "--reports-dir", str(settings.reports_dir)]
    runner = CliRunner()
    return [
        ("evaluate", runner.invoke(main, ["evaluate", *common, "--models", "mostpop",
                                          "--no-two-stage", "--quiet"])),
        ("metrics", runner.invoke(main, ["metrics", *common, "--quiet"])),
        ("build", runner.invoke(main, ["build", "-q", "--warehouse", str(settings.warehouse),
                                       "--data-dir", str(settings.data_dir), "--size", "tiny",
                                       "--select", "folds"])),
    ]


def holder(command: list[str]) -> subprocess.Popen:
    """A process that opens the warehouse and keeps it open until its stdin closes."""
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def holds_open(proc: subprocess.Popen, path: Path) -> bool:
    """``proc`` or a child of it (the ``duckdb`` console script runs the shell binary as a child)
    has ``path`` open. Read from /proc: probing with a connection of our own could take the lock
    first and make the holder fail."""
    pids, seen = [proc.pid], set()
    while pids:
        pid = pids.pop()
        seen.add(pid)
        try:
            if any(os.readlink(fd) == str(path) for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return True
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split() if int(c) not in seen]
        except OSError:
            continue
    return False


def locked(path: Path) -> bool:
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException:
        return True
    return False


@pytest.fixture
def busy(evaluated, tmp_path):
    settings = copy_settings(evaluated[0], tmp_path)
    return settings, table_digests(settings.warehouse)


@pytest.mark.parametrize("kind", ["duckdb shell", "python connection"])
def test_a_process_holding_the_warehouse_gets_a_lock_message(kind, busy, tmp_path):
    settings, before = busy
    reports = {p.name: p.read_bytes() for p in settings.reports_dir.iterdir()}
    if kind == "duckdb shell":
        shell = Path(sys.executable).parent / "duckdb"
        proc = holder([str(shell), str(settings.warehouse)])
    else:
        proc = holder([sys.executable, "-c", "import duckdb, sys; con = duckdb.connect(sys.argv[1]); "
                       "print('open', flush=True); sys.stdin.read()", str(settings.warehouse)])
    try:
        wait_for(lambda: holds_open(proc, settings.warehouse.resolve()), proc, timeout=60)
        time.sleep(0.5)  # DuckDB takes the file lock right after opening the file
        assert locked(settings.warehouse)
        for name, result in second_runs(settings):
            assert result.exit_code == 1, (name, result.output)
            assert DUCKDB_LOCK in result.output and "Traceback" not in result.output, (name, result.output)
            assert "Conflicting lock is held" in result.output  # DuckDB names the holder's pid
    finally:
        proc.communicate(input="", timeout=30)  # closing stdin ends the shell / script
    assert table_digests(settings.warehouse) == before
    assert {p.name: p.read_bytes() for p in settings.reports_dir.iterdir()} == reports
    assert not Path(f"{settings.warehouse}.building").exists()


def test_a_running_evaluate_keeps_a_second_run_out_for_its_whole_run(busy, tmp_path):
    """The run lock spans the whole run, also the moments the first run has no connection open."""
    settings, _ = busy
    proc = start_cli(settings, "evaluate", "--models", "mostpop", "--no-two-stage", "--quiet",
                     "--bootstrap-samples", "5", cwd=tmp_path)
    try:
        wait_for(lambda: lock_path(settings.warehouse).exists()
                 and b"recsys evaluate" in lock_path(settings.warehouse).read_bytes(), proc)
        seen = set()
        while proc.poll() is None and len(seen) < 2:
            for name, result in second_runs(settings):
                if proc.poll() is not None:
                    break
                assert result.exit_code == 1, (name, result.output)
                message = RUN_LOCK if RUN_LOCK in result.output else DUCKDB_LOCK
                assert message in result.output, (name, result.output)
                assert "Traceback" not in result.output
                seen.add(message)
            time.sleep(0.2)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            kill(proc)
    assert proc.returncode == 0, err[-3000:]
    assert RUN_LOCK in seen
    # the first run completed normally, and the warehouse is free again
    assert "mostpop" in out and not locked(settings.warehouse)
    with run_lock(settings.warehouse, "test"):
        pass


def test_run_lock_names_the_holder_and_is_reentrant_in_one_process(tmp_path):
    warehouse = tmp_path / "w.duckdb"
    script = ("import sys, time; from recsys.run_lock import run_lock\n"
              "with run_lock(sys.argv[1], 'recsys evaluate'):\n"
              "    print('held', flush=True); sys.stdin.read()\n")
    proc = holder([sys.executable, "-c", script, str(warehouse)])
    try:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(Exception, match=rf"in use by another recsys run \(pid {proc.pid}: recsys evaluate\)"):
            with run_lock(warehouse, "recsys build"):
                pass
    finally:
        proc.communicate(input="", timeout=30)
    with run_lock(warehouse, "outer"), run_lock(warehouse, "inner (nested: shared)"):
        assert b"outer" in lock_path(warehouse).read_bytes()
