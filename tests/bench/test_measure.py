import sys

import pytest

from recsys.bench.measure import run_stage
from recsys.errors import RecsysError

ALLOC_50MB = (
    "import time\n"
    "b = bytearray(50 * 2**20)\n"
    "b[::4096] = b'x' * len(b[::4096])\n"  # touch every page so it is resident
    "s = sum(range(200_000))\n"
    "time.sleep(0.1)\n"
)


def test_fake_stage_records_wall_cpu_and_peak_rss(tmp_path):
    log = tmp_path / "fake.log"
    result = run_stage("fake", [sys.executable, "-c", ALLOC_50MB + "print('done')"], log_path=log, niceness=1)
    assert result.status == "ok" and result.returncode == 0
    assert result.wall_s > 0
    assert result.cpu_s > 0 and result.cpu_s == pytest.approx(result.user_s + result.sys_s)
    assert result.peak_rss_mb >= 50
    assert log.read_text().strip() == "done"
    d = result.to_dict()
    assert set(d) >= {"name", "command", "status", "wall_s", "cpu_s", "user_s", "sys_s", "peak_rss_mb"}


def test_peak_rss_covers_grandchildren():
    # the child is a shell whose own child allocates: ru_maxrss of the tree must see it
    script = f"{sys.executable} -c \"{ALLOC_50MB}\""
    result = run_stage("tree", ["bash", "-c", script])
    assert result.status == "ok"
    assert result.peak_rss_mb >= 50


def test_failing_stage_is_reported_not_raised(tmp_path):
    log = tmp_path / "bad.log"
    result = run_stage("bad", [sys.executable, "-c", "print('boom here'); raise SystemExit(3)"], log_path=log)
    assert result.status == "failed"
    assert result.returncode == 3
    assert "exit code 3" in result.error and "boom here" in result.error


def test_missing_program_is_a_clear_error():
    with pytest.raises(RecsysError, match="could not start"):
        run_stage("nope", ["/nonexistent/recsys-xyz"])
