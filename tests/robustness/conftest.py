"""Shared fixtures of the robustness suite: evaluated copies of the suite's one tiny warehouse
(``tiny_warehouse``, tests/conftest.py), never rebuilt."""

from __future__ import annotations

import pytest
from robust_fixtures import copy_settings, robust_config

from recsys.config import Settings


@pytest.fixture(scope="session")
def evaluated(tiny_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A copy of ``tiny_warehouse`` after ``recsys evaluate`` (MODELS, no ranker): (settings, result)."""
    from recsys.pipeline import run_evaluate

    settings = copy_settings(tiny_warehouse, tmp_path_factory.mktemp("robust_evaluated"))
    result = run_evaluate(settings, robust_config(), fold="test", two_stage=False, progress=False)
    return settings, result


@pytest.fixture(scope="session")
def rerun(tiny_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A second, independent ``evaluate`` like ``evaluated``: another copy, another folder."""
    from recsys.pipeline import run_evaluate

    settings = copy_settings(tiny_warehouse, tmp_path_factory.mktemp("robust_rerun"))
    result = run_evaluate(settings, robust_config(), fold="test", two_stage=False, progress=False)
    return settings, result


@pytest.fixture(scope="session")
def two_stage_evaluated(tiny_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory):
    """A copy of ``tiny_warehouse`` after ``recsys evaluate`` with the ranker (MODELS, seed
    repeats of ials): every stage has its inputs (tuned parameters, candidates, features, saved
    rankers, recommendations)."""
    from recsys.pipeline import run_evaluate

    settings = copy_settings(tiny_warehouse, tmp_path_factory.mktemp("robust_two_stage"))
    run_evaluate(settings, robust_config(), fold="test", two_stage=True, progress=False)
    return settings
