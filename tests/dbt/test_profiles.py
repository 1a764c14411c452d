"""dbt_project/profiles.yml: DuckDB settings that survive a model that spills to disk.

dbt-duckdb re-applies the profile's ``settings`` on every model's cursor, and DuckDB refuses to
set ``temp_directory`` again once a query has spilled, so a spill folder under ``settings`` failed
every model after the first one that spilled. It belongs in ``config_options`` (set once, when the
database opens). The test drives dbt-duckdb's own connection code with the profile's keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments import Environment

PROFILES = Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml"


def _profile_output() -> dict:
    return yaml.safe_load(PROFILES.read_text())["recsys"]["outputs"]["duckdb"]


def _credentials(tmp_path: Path, output: dict) -> DuckDBCredentials:
    """The profile's settings layout with concrete values: a tiny memory limit, so a sort spills."""
    values = {"temp_directory": str(tmp_path / "spill"), "memory_limit": "20MB",
              "preserve_insertion_order": False, "threads": 1}
    config = {k: values[k] for k in output.get("config_options") or {}}
    settings = {k: values[k] for k in output.get("settings") or {}}
    settings.update(threads=1, enable_progress_bar=False)
    return DuckDBCredentials(path=str(tmp_path / "w.duckdb"), config_options=config or None,
                             settings=settings)


def _spill_then_open_next_cursor(creds: DuckDBCredentials) -> None:
    conn = Environment.initialize_db(creds)
    first = Environment.initialize_cursor(creds, conn.cursor())
    first.execute("create table spilled as select range as a, random() as b from range(1000000) order by b")
    Environment.initialize_cursor(creds, conn.cursor())  # the next model's cursor
    conn.close()


def test_spill_folder_is_set_once_per_database() -> None:
    output = _profile_output()
    assert "temp_directory" in (output.get("config_options") or {})
    assert "temp_directory" not in (output.get("settings") or {})


def test_a_model_after_a_spill_gets_its_cursor(tmp_path: Path) -> None:
    _spill_then_open_next_cursor(_credentials(tmp_path, _profile_output()))


def test_the_old_layout_fails_after_a_spill(tmp_path: Path) -> None:
    """Guards the reason: if DuckDB ever allows re-setting the folder, this test says so."""
    old = {"settings": {"memory_limit": "x", "temp_directory": "x", "preserve_insertion_order": "x"}}
    with pytest.raises(Exception, match="Cannot switch temporary directory"):
        _spill_then_open_next_cursor(_credentials(tmp_path, old))
