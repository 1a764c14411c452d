"""A warehouse built by ``dbt build`` on the generated ``tiny`` dataset, shared by the session.

``dbt_warehouse`` is what other packages' tests want when they need real marts (folds,
eval_targets, train_interactions, *_features, item_embeddings, stg_* views): move it to
tests/conftest.py to share it. Treat the warehouse as read-only; copy it (``copy_warehouse``)
to write into it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_helpers import dbt_paths, tiny_settings

from recsys.config import Settings


@pytest.fixture(scope="session")
def dbt_warehouse(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of a warehouse built with ``dbt build`` (models and all dbt tests) on tiny data."""
    from recsys.dbt_runner import build

    work = tmp_path_factory.mktemp("dbt_warehouse")
    settings = tiny_settings(tiny_dataset, work)
    build(settings, **dbt_paths(work))
    return settings
