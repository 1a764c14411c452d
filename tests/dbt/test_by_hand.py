"""dbt by hand and the Python stages see the same files: ``dbt run`` inside ``dbt_project/``
with a data folder relative to it (the default ``../data/yambda`` is one) writes views with an
absolute path, so a Python stage started from the repository root reads them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from dbt_helpers import copy_warehouse

from recsys.config import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow
REPO_ROOT = DBT_PROJECT_DIR.parent


def _env(settings, work: Path, data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSYS_", "DBT_"))}
    env.update({"RECSYS_DATA_DIR": data_dir, "RECSYS_SIZE": "tiny",
                "RECSYS_WAREHOUSE": str(settings.warehouse.resolve()),
                "RECSYS_TEMP_DIR": str(work / "tmp"), "RECSYS_MEMORY_LIMIT": "2GB",
                "RECSYS_REPORTS_DIR": str(work / "reports"),
                "DBT_TARGET_PATH": str(work / "dbt_target"), "DBT_LOG_PATH": str(work / "dbt_logs")})
    return env


def test_dbt_inside_dbt_project_then_a_python_stage_from_the_root(tiny_warehouse, tmp_path):
    settings = copy_warehouse(tiny_warehouse, tmp_path)
    relative = os.path.relpath(tiny_warehouse.data_dir, DBT_PROJECT_DIR)
    assert not relative.startswith("/")
    env = _env(settings, tmp_path, relative)
    dbt = Path(sys.executable).with_name("dbt")
    by_hand = subprocess.run([str(dbt), "run", "--select", "+history_events", "--profiles-dir", "."],
                             cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    assert by_hand.returncode == 0, by_hand.stdout[-3000:]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        sql = con.execute("select sql from duckdb_views() where view_name = 'stg_listens'").fetchone()[0]
    assert f"{DBT_PROJECT_DIR}/{relative}/flat/tiny/listens.parquet" in sql

    env["RECSYS_DATA_DIR"] = str(tiny_warehouse.data_dir)  # the same files, named from the root
    recsys = Path(sys.executable).with_name("recsys")
    stage = subprocess.run([str(recsys), "candidates", "--models", "itemknn", "--fold", "test",
                            "--quiet"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                           timeout=300)
    assert stage.returncode == 0, stage.stdout[-2000:] + stage.stderr[-3000:]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from candidates where model = 'itemknn' "
                           "and fold = 'test'").fetchone()[0] > 0
