"""A disk that is full when a stage writes: every stage of ``recsys run`` (``pipeline.stages``)
is run by the CLI on a copy of a two-stage-evaluated warehouse in a small tmpfs whose free space
was filled. Each ends in one sentence about the disk, exit 1, no traceback, and leaves every
table of the warehouse and every report file as they were.

Mounting a tmpfs needs root (a container's root is enough); elsewhere the suite skips it and the
mocked faults of ``test_resource_faults.py`` still run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from robust_fixtures import MODELS, cli_env, copy_settings, table_digests

from recsys.pipeline import stages

pytestmark = pytest.mark.slow

RECSYS = Path(shutil.which("recsys") or Path(os.sys.executable).with_name("recsys"))
HEADROOM = 64 * 2**20  # tmpfs size beyond the warehouse: reports, dbt artifacts, the filler


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _mount(folder: Path, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True, capture_output=True, text=True)


def _umount(folder: Path) -> None:
    subprocess.run(["umount", str(folder)], check=False, capture_output=True)


@pytest.fixture(scope="module")
def two_stage(two_stage_evaluated, tmp_path_factory):
    """``two_stage_evaluated``, where a tmpfs can be mounted."""
    probe = tmp_path_factory.mktemp("tmpfs_probe")
    try:
        _mount(probe, 2**20)
    except (subprocess.CalledProcessError, FileNotFoundError) as exc:
        pytest.skip(f"mounting a tmpfs is not permitted here ({getattr(exc, 'stderr', exc)!s:.80})")
    _umount(probe)
    return two_stage_evaluated


def _force_work(stage: str, warehouse: Path) -> None:
    """Make the stage do work: a tuned model, a candidate slice or next-song lists it must
    compute again."""
    if stage not in ("tune", "candidates", "next-song"):
        return  # the others write their outputs on every run
    con = duckdb.connect(str(warehouse))
    try:
        if stage == "tune":
            con.execute("delete from candidate_params where model = 'ials' and target = 'like'")
        elif stage == "next-song":
            con.execute("delete from slice_state where table_name = 'next_song_recommendations'")
        else:
            con.execute("delete from candidates where model = 'ials' and fold = 'test' "
                        "and target = 'like'")
            con.execute("""delete from slice_state where table_name = 'candidates'
                           and slice_key = '{"fold": "test", "model": "ials", "target": "like"}'""")
    finally:
        con.close()


@pytest.mark.parametrize("stage", [s.name for s in stages(MODELS)])
def test_a_full_disk_in_any_stage_is_one_sentence_and_keeps_tables_and_reports(stage, two_stage,
                                                                               tmp_path):
    argv = next(s.argv for s in stages(MODELS) if s.name == stage)
    disk = tmp_path / "disk"
    _mount(disk, two_stage.warehouse.stat().st_size + HEADROOM)
    try:
        settings = copy_settings(two_stage, disk)
        _force_work(stage, settings.warehouse)
        tables, reports = table_digests(settings.warehouse), _files(settings.reports_dir)
        filler = disk / "filler"
        with open(filler, "wb") as handle:  # leave no free block
            handle.write(b"\0" * shutil.disk_usage(disk).free)
        proc = subprocess.run([str(RECSYS), *argv], env=cli_env(settings), cwd=disk,
                              capture_output=True, text=True, timeout=600)
        filler.unlink()
        assert proc.returncode == 1, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert "The disk is full" in proc.stderr, proc.stderr[-3000:]
        assert table_digests(settings.warehouse) == tables
        assert _files(settings.reports_dir) == reports
        assert not list(disk.glob("*.building*"))
        assert not list(settings.reports_dir.rglob("*.tmp"))
    finally:
        _umount(disk)
