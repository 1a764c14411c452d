"""Resource failures end in one sentence naming the file or resource and the fix, exit 1, and
the previous warehouse and reports kept: a full disk before the build's copy and inside a DuckDB
transaction, a damaged warehouse file, DuckDB out of memory, and SIGTERM during a build."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner
from robust_fixtures import copy_settings, data_options, start_cli, wait_for

from recsys.cli import main
from recsys.failures import ResourceError, explain
from recsys.tables import SliceWrite, replace_slices

pytestmark = pytest.mark.slow


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: sha(p) for p in sorted(folder.iterdir()) if p.is_file()}


def test_a_build_without_room_for_its_copy_stops_before_copying(tiny_warehouse, tmp_path, monkeypatch):
    import recsys.dbt_runner as runner

    settings = copy_settings(tiny_warehouse, tmp_path)
    before = sha(settings.warehouse)
    usage = runner.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(runner.shutil, "disk_usage", lambda _p: usage._replace(free=1024))
    result = CliRunner().invoke(main, ["build", "-q", "--data-dir", str(settings.data_dir), "--size",
                                       "tiny", "--warehouse", str(settings.warehouse)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "needs about" in result.output and "GiB free in" in result.output
    assert str(settings.warehouse.parent) in result.output
    assert sha(settings.warehouse) == before and not list(tmp_path.glob("*.building*"))


def test_a_full_disk_inside_a_transaction_keeps_duckdbs_error_and_the_previous_slice(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create table t (k varchar, v integer)")
    con.execute("insert into t values ('a', 1)")

    def full_disk(con, table):  # DuckDB aborts the transaction itself, then reports the disk
        con.execute(f"insert into {table} values ('a', 2)")
        con.execute("rollback")
        raise duckdb.IOException('Could not write file "/data/w.duckdb.wal": No space left on device')

    with pytest.raises(duckdb.IOException, match="No space left on device") as error:
        replace_slices(con, [SliceWrite("t", full_disk, {"k": "a"})])
    assert con.execute("select v from t").fetchall() == [(1,)]
    message = str(explain(error.value, "/data/w.duckdb"))
    assert message.startswith("The disk is full: could not write /data/w.duckdb.wal.")


def test_a_full_disk_during_evaluate_is_one_sentence_and_keeps_the_reports(evaluated, tmp_path,
                                                                          monkeypatch):
    import recsys.pipeline as pipeline

    settings = copy_settings(evaluated[0], tmp_path)
    reports = folder_digest(settings.reports_dir)

    def no_space(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device", str(settings.warehouse) + ".wal")

    monkeypatch.setattr(pipeline, "write_generator_slice", no_space)
    result = CliRunner().invoke(main, [  # untuned: ials's parameters change, so it is refitted
        "evaluate", *data_options(settings), "--reports-dir", str(settings.reports_dir),
        "--models", "ials", "--no-two-stage", "--no-tune", "--quiet"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"The disk is full: could not write {settings.warehouse}.wal" in result.output
    assert folder_digest(settings.reports_dir) == reports
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:  # still readable
        assert con.execute("select count(*) from metrics").fetchone()[0] > 0


def test_a_run_without_room_for_what_it_may_rewrite_stops_before_any_write(evaluated, tmp_path,
                                                                           monkeypatch):
    settings = copy_settings(evaluated[0], tmp_path)
    before, reports = sha(settings.warehouse), folder_digest(settings.reports_dir)
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage._replace(free=100 * 2**20))
    reports_dir = ["--reports-dir", str(settings.reports_dir)]
    for command in (["evaluate", "--models", "mostpop", "--no-two-stage", "--no-tune", *reports_dir],
                    ["candidates", "--models", "mostpop", "--fold", "test"],
                    ["metrics", *reports_dir]):
        result = CliRunner().invoke(main, [*command, *data_options(settings), "--quiet"])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert "GiB in the warehouse now) and needs about" in result.output, result.output
        assert "0.10 GiB" in result.output and "nothing was changed" in result.output
    assert sha(settings.warehouse) == before and folder_digest(settings.reports_dir) == reports


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty header"])
def test_a_damaged_warehouse_says_move_it_aside_and_rebuild(damage, tiny_warehouse, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    data = tiny_warehouse.warehouse.read_bytes()
    path.write_bytes({"garbage": os.urandom(1 << 20), "truncated": data[: len(data) // 3],
                      "empty header": b"\0" * 8192 + data[8192:]}[damage])
    result = CliRunner().invoke(main, ["metrics", "--warehouse", str(path), "--quiet"])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"mv {path} {path}.damaged" in result.output and "recsys build" in result.output


def test_out_of_memory_and_unknown_errors():
    oom = explain(duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate 1.1 TiB"))
    assert isinstance(oom, ResourceError) and "Raise RECSYS_MEMORY_LIMIT" in str(oom)
    assert explain(ValueError("a bug")) is None  # a bug stays a traceback, not a sentence


def test_sigterm_during_a_build_removes_the_staged_copy_and_frees_the_lock(tiny_warehouse, tmp_path):
    settings = copy_settings(tiny_warehouse, tmp_path)
    before = sha(settings.warehouse)
    staging = Path(f"{settings.warehouse}.building")
    proc = start_cli(settings, "build", "-q", cwd=tmp_path)
    wait_for(staging.exists, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "interrupted by SIGTERM" in err and "Traceback" not in err
    assert not staging.exists() and not Path(f"{staging}.wal").exists()
    assert sha(settings.warehouse) == before
    from recsys.run_lock import run_lock

    with run_lock(settings.warehouse, "test"):  # the lock was released
        pass


@pytest.mark.parametrize("name, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_a_signal_while_dbt_runs_exits_with_its_code_and_keeps_the_warehouse(name, code,
                                                                            tiny_warehouse, tmp_path):
    """The signal lands while dbt builds models (not before it starts): dbt hands it back as its
    exception, and the run ends as an interrupted one, never as a failed dbt build."""
    settings = copy_settings(tiny_warehouse, tmp_path)
    before = sha(settings.warehouse)
    log = tmp_path / "dbt_logs" / "dbt.log"
    proc = start_cli(settings, "build", "-q", cwd=tmp_path)
    wait_for(lambda: log.exists() and log.read_text(errors="replace").count("OK created") >= 2, proc)
    proc.send_signal(getattr(signal, name))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    assert f"interrupted by {name}" in err, err[-2000:]
    assert "failed" not in err and "Traceback" not in err, err[-2000:]
    assert not Path(f"{settings.warehouse}.building").exists()
    assert sha(settings.warehouse) == before


def test_the_lock_names_the_command_the_user_typed(tiny_warehouse, tmp_path):
    from recsys.run_lock import lock_path

    settings = copy_settings(tiny_warehouse, tmp_path)
    proc = start_cli(settings, "build", "-q", "--select", "folds", cwd=tmp_path)
    lock = lock_path(settings.warehouse)
    wait_for(lambda: lock.exists() and b"recsys build" in lock.read_bytes(), proc)
    assert "recsys build -q --select folds" in lock.read_text()
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]


@pytest.fixture()
def read_only(tmp_path):
    """A folder nothing can be written to, holding a copy of what ``fill`` puts there first: a
    read-only tmpfs for root (who ignores permissions), a mode-0555 folder for other users."""
    import subprocess

    folder = tmp_path / "read_only"
    folder.mkdir()
    root = os.geteuid() == 0

    def make(fill=lambda f: None):
        if root:
            try:
                subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "tmpfs", str(folder)],
                               check=True, capture_output=True)
            except (subprocess.CalledProcessError, FileNotFoundError):
                pytest.skip("mounting a tmpfs is not permitted here")
        fill(folder)
        if root:
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, capture_output=True)
        else:
            folder.chmod(0o555)
        return folder

    yield make
    if root:
        subprocess.run(["umount", str(folder)], check=False, capture_output=True)
    else:
        folder.chmod(0o755)


@pytest.mark.parametrize("place", ["warehouse", "reports", "temp"])
def test_an_unwritable_folder_is_one_sentence_before_any_work(place, read_only, tiny_warehouse,
                                                              tmp_path):
    import shutil

    from robust_fixtures import cli_env

    settings = copy_settings(tiny_warehouse, tmp_path / "w")
    if place == "warehouse":
        folder = read_only(lambda f: shutil.copyfile(settings.warehouse, f / settings.warehouse.name))
        settings = settings.with_(warehouse=folder / settings.warehouse.name)
        name = "RECSYS_WAREHOUSE's folder"
    elif place == "reports":
        settings = settings.with_(reports_dir=read_only() / "reports")
        name = "RECSYS_REPORTS_DIR"
    else:
        settings = settings.with_(temp_dir=read_only())
        name = "RECSYS_TEMP_DIR"
    before = sha(settings.warehouse)
    import subprocess

    from robust_fixtures import RECSYS

    for args in (["evaluate", "--models", "mostpop", "--no-two-stage"],
                 ["candidates", "--models", "mostpop", "--fold", "test"]):
        proc = subprocess.run([*RECSYS, *args], env=cli_env(settings), cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 1, proc.stderr[-2000:]
        assert f"{name} " in proc.stderr and "cannot be written" in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert sha(settings.warehouse) == before
