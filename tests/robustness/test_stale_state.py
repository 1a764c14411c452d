"""Stale state: a rebuild on other input files drops every table Python computed from the old
ones, so nothing of the old data is scored or reused (a rebuild on the same files keeps them:
test_idempotent_reruns.py)."""

from __future__ import annotations

import duckdb
import pytest
from robust_fixtures import copy_settings

from recsys.errors import WarehouseError
from recsys.state import PYTHON_TABLES

pytestmark = pytest.mark.slow


def tables(settings) -> set[str]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}


def test_rebuild_on_other_data_drops_what_python_computed_from_the_old(evaluated, tmp_path):
    from recsys.data.generate import generate_dataset
    from recsys.dbt_runner import build
    from recsys.evaluation.scoring import score_and_report
    from recsys.pipeline_config import load_config

    source, _ = evaluated
    settings = copy_settings(source, tmp_path / "a")
    assert {"candidates", "recommendations", "metrics", "candidate_params"} <= tables(settings)
    # (a rebuild on the same files keeps them: test_idempotent_reruns.py)
    other = tmp_path / "b"
    generate_dataset(other, "tiny", seed=7)
    moved = settings.with_(data_dir=other)
    summary = build(moved, target_path=tmp_path / "t", log_path=tmp_path / "l")
    assert {"candidates", "recommendations", "metrics", "candidate_params"} <= set(summary.dropped)
    assert not tables(moved) & set(PYTHON_TABLES)
    with pytest.raises(WarehouseError):  # nothing of data A is scored as if it were data B's
        score_and_report(moved, load_config(), fold="test", progress=False)
