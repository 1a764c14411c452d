"""A tiny synthetic warehouse with the contract columns of the ranking stage's inputs.

Every user u of a fold has six candidates, items 10*u + 1 .. 10*u + 6 (plus one item shared
by all users, 999). Items ending in 1 and 2 are the user's targets (in ``eval_targets``) and
have ``user_item_listens`` = 5 (others 0): that feature separates positives perfectly. The
generator ``mostpop`` ranks the six items in the order 6, 5, ..., 1 (targets last); ``history``
proposes only items ending in 1, 3 and 5. Users 1..N are evaluated; user 1000 has candidates
but no targets (not evaluated).
"""

from __future__ import annotations

import duckdb
import pytest
from ranking_fixtures import build_warehouse, mark_candidates_fresh

from recsys.config import Settings


@pytest.fixture
def warehouse(tmp_path):
    return build_warehouse(tmp_path / "w.duckdb")


@pytest.fixture
def three_folds(tmp_path):
    """The same warehouse with a third fold, val_2 (one window before val), candidates and all."""
    path = build_warehouse(tmp_path / "w3.duckdb", folds=("val", "val_2", "test"))
    with duckdb.connect(str(path)) as con:
        con.execute("insert into folds values ('val_2', 500, 600, 1000)")
    return path


@pytest.fixture
def settings(warehouse, tmp_path, config):
    out = Settings(warehouse=warehouse, reports_dir=tmp_path / "reports", temp_dir=tmp_path / "tmp",
                   memory_limit="1GB", threads=1)
    mark_candidates_fresh(out, config)
    return out


@pytest.fixture
def config():
    """Default pipeline config with LightGBM limits loosened for 30 users."""
    from recsys.pipeline_config import load_config

    cfg = load_config()
    cfg["ranker"]["params"].update({"min_data_in_leaf": 1, "learning_rate": 0.3})
    cfg["ranker"]["params"]["min_data_in_bin"] = 1
    cfg["ranker"]["num_boost_round"] = 20
    cfg["ranker"]["early_stopping_rounds"] = 5
    cfg["ranker"]["candidates_per_model"] = 6
    cfg["candidates"]["models"] = ["mostpop", "history"]
    cfg["ranker"]["models"] = None  # = candidates.models
    cfg["ranker"]["train_folds"] = ["val"]  # the fixture warehouse has folds val and test
    cfg["ranker"]["graded_labels"] = None  # binary labels (test_ranking_training covers graded)
    # one ranker (test_untuned_comparison.py trains the second on history_untuned)
    cfg["ranker"]["compare_untuned"] = False
    return cfg
