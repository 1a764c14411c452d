"""The dbt project's committed configuration agrees with recsys.config, and compiles cleanly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from recsys import config
from recsys.config import DBT_PROJECT_DIR, REPO_ROOT

_ENV_DEFAULT = re.compile(r"env_var\('(?P<name>RECSYS_\w+)',\s*'(?P<default>[^']*)'\)")


def _env_defaults(path: Path) -> dict[str, str]:
    return {m["name"]: m["default"] for m in _ENV_DEFAULT.finditer(path.read_text())}


def test_profile_defaults_point_where_recsys_config_points():
    # dbt runs from dbt_project/, the Python CLI from the repo root: same files either way
    defaults = _env_defaults(DBT_PROJECT_DIR / "profiles.yml")
    assert (DBT_PROJECT_DIR / defaults["RECSYS_WAREHOUSE"]).resolve() == (
        REPO_ROOT / config.DEFAULT_WAREHOUSE
    ).resolve()
    assert (DBT_PROJECT_DIR / defaults["RECSYS_TEMP_DIR"]).resolve() == (
        REPO_ROOT / config.DEFAULT_TEMP_DIR
    ).resolve()
    assert defaults["RECSYS_MEMORY_LIMIT"] == config.DEFAULT_MEMORY_LIMIT


def test_source_defaults_point_where_recsys_config_points():
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    data_dir = project["vars"]["data_dir"]
    assert (DBT_PROJECT_DIR / data_dir).resolve() == (REPO_ROOT / config.DEFAULT_DATA_DIR).resolve()
    assert project["vars"]["size"] == config.DEFAULT_SIZE
    sources = (DBT_PROJECT_DIR / "models/staging/_yambda__sources.yml").read_text()
    assert "env_var('RECSYS_DATA_DIR', var('data_dir'))" in sources
    assert "env_var('RECSYS_SIZE', var('size'))" in sources


def test_folder_configs_have_no_typos():
    # a misspelt key (+materialzied) would pass silently in dbt
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    for folder, cfg in project["models"]["recsys"].items():
        assert set(cfg) <= {"+materialized"}, folder
        assert cfg["+materialized"] in {"view", "table", "ephemeral"}


def test_models_use_no_literal_paths_and_source_only_in_staging():
    for sql in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        text = sql.read_text()
        assert ".parquet" not in text and "read_parquet" not in text, sql
        if "staging" not in sql.parts:
            assert "source(" not in text, sql


@pytest.mark.parametrize(
    "paper_value",
    ["last_timestamp: 26000000", "target_window_seconds: 86400", "gap_seconds: 1800",
     "listen_plus_threshold: 50"],
)
def test_protocol_vars_default_to_the_paper(paper_value):
    assert paper_value in (DBT_PROJECT_DIR / "dbt_project.yml").read_text()


def test_dbt_var_defaults_are_what_the_default_pipeline_config_builds():
    # a plain `dbt build` must build the folds and candidate ranks `recsys evaluate` then reads
    from recsys.pipeline_config import load_config
    from recsys.ranking.settings import dbt_vars

    project_vars = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    for name, value in dbt_vars(load_config(None)).items():
        assert project_vars[name] == value, name
