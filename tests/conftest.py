"""Fixtures shared by every package's tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Root of a generated ``tiny`` dataset (seed 42): ``<root>/flat/tiny/*.parquet`` + root files.

    Generated once per test session (about two seconds); treat it as read-only.
    """
    from recsys.data.generate import generate_dataset

    root = tmp_path_factory.mktemp("yambda")
    generate_dataset(root, "tiny", seed=42)
    return root
