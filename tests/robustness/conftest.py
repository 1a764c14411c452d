"""Shared fixtures of the robustness suite: one dbt build on the generated tiny dataset, copied
(never rebuilt) by every test that writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from robust_fixtures import copy_settings, robust_config, work_settings

from recsys.config import Settings


@pytest.fixture(scope="session")
def built(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A warehouse from ``dbt build`` on the tiny dataset (read-only: copy it to write)."""
    from recsys.dbt_runner import build

    work = tmp_path_factory.mktemp("robust_built")
    settings = work_settings(tiny_dataset, work)
    build(settings, target_path=work / "dbt_target", log_path=work / "dbt_logs")
    return settings


@pytest.fixture(scope="session")
def evaluated(built: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A copy of ``built`` after ``recsys evaluate`` (MODELS, no ranker): (settings, result)."""
    from recsys.evaluation.pipeline import run_evaluate

    settings = copy_settings(built, tmp_path_factory.mktemp("robust_evaluated"))
    result = run_evaluate(settings, robust_config(), fold="test", two_stage=False, progress=False)
    return settings, result


@pytest.fixture(scope="session")
def rerun(built: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A second, independent ``evaluate`` like ``evaluated``: another copy, another folder."""
    from recsys.evaluation.pipeline import run_evaluate

    settings = copy_settings(built, tmp_path_factory.mktemp("robust_rerun"))
    result = run_evaluate(settings, robust_config(), fold="test", two_stage=False, progress=False)
    return settings, result
