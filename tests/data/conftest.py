"""Fixtures for the data tests: the generated tiny root and cheap editable copies of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from recsys.data.profile import profile_dataset
from recsys.data.validate import expected_files


@pytest.fixture(scope="session")
def tiny_profile(tiny_dataset: Path) -> dict:
    """``profile_dataset`` of the session's tiny dataset."""
    return profile_dataset(tiny_dataset, "tiny")


@pytest.fixture()
def dataset_copy(tiny_dataset: Path, tmp_path: Path) -> Callable[[], Path]:
    """Make a copy of the tiny root whose files are symlinks (fast); replace one to break it."""

    def make() -> Path:
        root = tmp_path / "copy"
        for path in expected_files(tiny_dataset, "tiny"):
            target = root / path.relative_to(tiny_dataset)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
        return root

    return make
