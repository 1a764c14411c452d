"""Every command block of README.md runs as written, in order, on tiny generated data.

The blocks run in one bash session (``source .venv/bin/activate`` holds for the later ones) in a
scratch copy of the repository whose ``.venv`` is this one, with ``RECSYS_SIZE=tiny``: a user's
environment naming the built-in tiny data. What a test cannot do as written is replaced, each
replacement listed in :data:`REPLACED` with its reason; the SQL block runs in the DuckDB shell
on the warehouse the blocks built.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
# (text in a block, what runs instead, why)
REPLACED = [
    ("make test ", "make -n test ", "the suite cannot run itself from inside itself: the dry run "
     "checks the target and prints its command"),
    ("recsys download --size 50m --out data/yambda", "recsys download --size 50m --out "
     "data/yambda --mirror {mirror}", "the hub is out of reach: the same files from a local "
     "folder laid out like the hub (the tiny data under the name 50m)"),
    (".venv/bin/recsys serve --port 8000 &", ".venv/bin/recsys serve --port 8000 --quiet & "
     "trap \"kill $!\" EXIT; for _ in $(seq 180); do curl -sf localhost:8000/health && break; "
     "sleep 1; done", "a script cannot wait for the server as a reader does: it polls /health "
     "before the curl lines, and stops the server when the blocks end"),
]


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)


def _scratch(tmp_path: Path) -> Path:
    """The tracked files (timestamps kept) and a link to this checkout's .venv."""
    work = tmp_path / "repo"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, work / name)
    venv = Path(sys.executable).parent.parent
    (work / ".venv").symlink_to(venv)
    installed = (venv / "bin" / "recsys").stat().st_mtime
    for name in ("pyproject.toml", "requirements.lock"):  # `make setup` finds the venv current
        os.utime(work / name, (installed - 1, installed - 1))
    return work


def _mirror(tiny_dataset: Path, folder: Path) -> Path:
    for path in tiny_dataset.rglob("*.parquet"):
        relative = path.relative_to(tiny_dataset)
        if relative.parts[:2] == ("flat", "tiny"):
            relative = Path("flat", "50m", *relative.parts[2:])
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / relative)
    return folder


def test_every_readme_command_block_runs_as_written(tiny_dataset, tmp_path):
    work = _scratch(tmp_path)
    mirror = _mirror(tiny_dataset, tmp_path / "hub")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "DBT_", "VIRTUAL_ENV"))}
    env.update({"RECSYS_SIZE": "tiny", "RECSYS_MEMORY_LIMIT": "2GB"})
    assert subprocess.run(["make", "-q", "setup"], cwd=work, env=env).returncode == 0

    script = "\n".join(blocks("bash"))
    for text, instead, _why in REPLACED:
        assert text in script, f"README.md no longer says {text!r}: update REPLACED"
        script = script.replace(text, instead.format(mirror=mirror))
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert (work / "data" / "yambda" / "flat" / "tiny" / "listens.parquet").is_file()  # make run
    assert (work / "data" / "yambda" / "flat" / "50m" / "listens.parquet").is_file()  # download
    manifest = (work / "reports" / "run_manifest.json").read_text()
    assert '"size": "50m"' in manifest  # the last evaluate: the downloaded files
    assert "ndcg" in done.stdout  # the shell's metrics query printed its rows

    for sql in blocks("sql"):
        shell = subprocess.run([str(work / ".venv" / "bin" / "duckdb"), "-readonly",
                                "warehouse/recsys.duckdb"], cwd=work, input=sql, env=env,
                               capture_output=True, text=True, timeout=120)
        assert shell.returncode == 0 and "Error" not in shell.stderr, shell.stderr
        assert "listen_plus" in shell.stdout
