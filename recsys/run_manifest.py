"""``run_manifest.json``: what a report was computed from, written next to the reports.

It records the resolved pipeline config (seeds included; ``derived``: which of its values
followed the data's size, and the measure they were chosen from), the fold and models, the dataset
(every input file's rows and bytes from its parquet footer, plus a fingerprint of the footers),
a profile of the warehouse marts the metrics came from (evaluated users and target rows per fold
and target, training rows, catalogue size), the versions of Python and of every package that
shapes the numbers, and the code's provenance: the git commit of the checkout the package runs
from (and whether tracked files differ from it) and the sha256 of ``requirements.lock``, the pins
``make setup`` installs. Two runs with equal ``config``, ``data`` and ``packages`` sections must
give equal recommendations and metrics (tests/robustness/test_reproducibility.py); an equal
``provenance`` (a clean checkout of one commit, hence one lock) gives the same packages anywhere.

Example
-------
>>> from recsys.run_manifest import build_manifest  # doctest: +SKIP
>>> build_manifest(settings, config, fold="test", models=["mostpop"])["seeds"]  # doctest: +SKIP
{'seed': 42, 'ranker.seed': 42}
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import duckdb

from recsys.columns import Tables
from recsys.config import Settings
from recsys.state import data_profile
from recsys.warehouse import table_exists

MANIFEST_NAME = "run_manifest.json"
PACKAGES = ("recsys", "duckdb", "dbt-core", "dbt-duckdb", "pyarrow", "pandas", "numpy", "scipy",
            "implicit", "lightgbm", "threadpoolctl", "pyyaml", "optuna")
# the checkout the package lives in (an editable install), and its pinned environment
REPO_ROOT = Path(__file__).resolve().parent.parent
LOCK_NAME = "requirements.lock"


def package_versions() -> dict[str, str | None]:
    """Installed version of Python and of each package in ``PACKAGES`` (None if absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(root: Path, *args: str) -> str | None:
    """stdout of ``git -C root args`` (stripped), None if git is absent or fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30,
            # status must not take the index lock: other processes may use the checkout
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"}, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def provenance(root: Path | None = None) -> dict:
    """The code behind a run: ``git_commit`` (HEAD of the checkout at ``root``, by default the one
    the package lives in), ``git_dirty`` (whether tracked files differ from it) and ``lock_sha256``
    (of ``root/requirements.lock``). Each is None when unknown: no git, not a checkout (an
    installed package: the checkout must be ``root`` itself, not one that merely contains it, such
    as a venv inside another repository), no lock file."""
    root = Path(REPO_ROOT if root is None else root).resolve()
    commit = dirty = None
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is not None and Path(top).resolve() == root:
        commit = _git(root, "rev-parse", "HEAD")
        status = _git(root, "status", "--porcelain", "--untracked-files=no")
        dirty = None if commit is None or status is None else bool(status)
    lock = root / LOCK_NAME
    try:
        lock_sha256 = hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else None
    except OSError:
        lock_sha256 = None
    return {"git_commit": commit, "git_dirty": dirty, "lock_sha256": lock_sha256}


def warehouse_profile(con: duckdb.DuckDBPyConnection, fold: str) -> dict:
    """Sizes of the marts behind the metrics of ``fold`` (evaluated users and targets per target)."""
    out: dict = {}
    if table_exists(con, Tables.folds):
        row = con.execute(f"select history_end_ts, target_start_ts, target_end_ts from {Tables.folds} "
                          "where fold = ?", [fold]).fetchone()
        if row:
            out["window"] = dict(zip(("history_end_ts", "target_start_ts", "target_end_ts"), row,
                                     strict=True))
    if table_exists(con, Tables.eval_targets):
        out["targets"] = {t: {"users": int(u), "rows": int(n)} for t, u, n in con.execute(
            f"select target, count(distinct uid), count(*) from {Tables.eval_targets} "
            "where fold = ? group by target order by target", [fold]).fetchall()}
    if table_exists(con, Tables.train_interactions):
        out["train_interactions"] = {t: int(n) for t, n in con.execute(
            f"select target, count(*) from {Tables.train_interactions} where fold = ? "
            "group by target order by target", [fold]).fetchall()}
    if table_exists(con, "build_state"):  # the data's soft problems found by `recsys build`
        row = con.execute("select details from build_state").fetchone()
        out["data_warnings"] = (json.loads(row[0]).get("data_warnings") or []) if row else []
    if table_exists(con, "item_features"):
        out["catalogue_items"] = int(con.execute(
            "select count(*) from item_features where fold = ?", [fold]).fetchone()[0])
    return out


def build_manifest(
    settings: Settings,
    config,
    *,
    fold: str,
    models: Sequence[str],
    marts: dict | None = None,
) -> dict:
    """The manifest of one evaluation (see the module docstring).

    ``marts`` is :func:`warehouse_profile` of the connection the metrics came from.
    """
    from recsys.pipeline_config import as_config

    config = as_config(config)
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "fold": fold,
        "models": list(models),
        "seeds": {"seed": config.seed, "ranker.seed": config.ranker.seed},
        "config": config.raw,
        # the config values that followed the data's size (recsys/scaled.yml) and its measure
        "derived": {"values": config.derived, "from": config.scale},
        "settings": {"data_dir": str(settings.data_dir), "size": settings.size,
                     "warehouse": str(settings.warehouse), "memory_limit": settings.memory_limit,
                     "threads": settings.threads},
        "packages": package_versions(),
        "provenance": provenance(),
        "data": data_profile(settings.data_dir, settings.size),
        "warehouse": marts,
    }


def manifest_json(manifest: dict) -> str:
    """Stable JSON text (sorted keys) for ``write_atomic``."""
    return json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n"


__all__ = ["LOCK_NAME", "MANIFEST_NAME", "REPO_ROOT", "build_manifest", "data_profile",
           "manifest_json", "package_versions", "provenance", "warehouse_profile"]
