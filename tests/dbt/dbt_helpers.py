"""Helpers for tests that build or copy a dbt warehouse (imported as ``dbt_helpers``)."""

from __future__ import annotations

import shutil
from pathlib import Path

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
