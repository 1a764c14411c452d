"""Fixtures shared by every package's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from recsys.config import Settings


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a generated ``tiny`` dataset (seed 42): ``<root>/flat/tiny/*.parquet`` + root files.

    Generated once per test session (about two seconds); treat it as read-only.
    """
    from recsys.data.generate import generate_dataset

    root = tmp_path_factory.mktemp("yambda")
    generate_dataset(root, "tiny", seed=42)
    return root


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the suite's one warehouse built by ``recsys build`` (dbt build: every model and
    dbt test) on the tiny dataset: folds, eval_targets, train_interactions, *_features,
    item_embeddings, stg_* views, and ``dbt_target/compiled`` beside it.

    Built once per test session; treat it as read-only and copy it to write into it
    (``copy_warehouse`` in tests/dbt/dbt_helpers.py, ``copy_settings`` in
    tests/robustness/robust_fixtures.py: both keep the file name, which the views refer to).
    """
    from recsys.dbt_runner import build

    work = tmp_path_factory.mktemp("tiny_warehouse")
    settings = Settings(data_dir=tiny_dataset, size="tiny", warehouse=work / "warehouse.duckdb",
                        reports_dir=work / "reports", memory_limit="2GB", threads=2,
                        temp_dir=work / "tmp")
    build(settings, target_path=work / "dbt_target", log_path=work / "dbt_logs")
    return settings
