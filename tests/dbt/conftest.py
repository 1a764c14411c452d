"""A warehouse built by ``dbt build`` on the generated ``tiny`` dataset, shared by the session.

``dbt_warehouse`` is what other packages' tests want when they need real marts (folds,
eval_targets, train_interactions, *_features, item_embeddings, stg_* views): move it to
tests/conftest.py to share it. Treat the warehouse as read-only; copy it (``copy_warehouse``)
to write into it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from recsys.config import Settings


def tiny_settings(data_dir: Path, work: Path, size: str = "tiny") -> Settings:
    """Settings for a test build: its own warehouse and temp dir, modest DuckDB resources."""
    return Settings(
        data_dir=Path(data_dir),
        size=size,
        warehouse=work / "warehouse.duckdb",
        reports_dir=work / "reports",
        memory_limit="2GB",
        threads=2,
        temp_dir=work / "tmp",
    )


def dbt_paths(work: Path) -> dict[str, Path]:
    """Separate dbt target/log folders, so concurrent builds never share artifacts."""
    return {"target_path": work / "dbt_target", "log_path": work / "dbt_logs"}


def copy_warehouse(settings: Settings, work: Path) -> Settings:
    """A writable copy of a built warehouse (the staging views keep their absolute paths)."""
    work.mkdir(parents=True, exist_ok=True)
    target = work / "warehouse.duckdb"
    shutil.copyfile(settings.warehouse, target)
    return settings.with_(warehouse=target, temp_dir=work / "tmp")


@pytest.fixture(scope="session")
def dbt_warehouse(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a warehouse built with ``dbt build`` (models and all dbt tests) on tiny data."""
    from recsys.dbt_runner import build

    work = tmp_path_factory.mktemp("dbt_warehouse")
    settings = tiny_settings(tiny_dataset, work)
    build(settings, **dbt_paths(work))
    return settings
