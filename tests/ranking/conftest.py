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
import pandas as pd
import pytest
from ranking_fixtures import mark_candidates_fresh

from recsys.config import Settings

N_USERS = 30


def candidate_rows(fold: str, target: str, n_users: int = N_USERS) -> list[dict]:
    rows = []
    for uid in [*range(1, n_users + 1), 1000]:
        for j in range(1, 7):
            item = 10 * uid + j
            positive = j in (1, 2) and uid != 1000
            rows.append(
                {
                    "fold": fold, "target": target, "uid": uid, "item_id": item,
                    "rank_mostpop": 7 - j, "score_mostpop": float(j) / 10,
                    "rank_history": (j + 1) // 2 if j % 2 == 1 else None,
                    "score_history": 1.0 / j if j % 2 == 1 else None,
                    "user_item_listens": 5 if positive else 0,
                    "artist_id": 7, "last_listen_ts": 100,
                }
            )
        rows.append(
            {
                "fold": fold, "target": target, "uid": uid, "item_id": 999,
                "rank_mostpop": 7, "score_mostpop": 0.05, "rank_history": None, "score_history": None,
                "user_item_listens": 0, "artist_id": 7, "last_listen_ts": 100,
            }
        )
    return rows


def build_warehouse(path, n_users: int = N_USERS, folds=("val", "test"), targets=("listen_plus",),
                    untuned: bool = False):
    """``untuned``: also a ``history_untuned`` generator (ranker.compare_untuned's candidates),
    which proposes every item ending in 2, 4 or 6, in that order."""
    con = duckdb.connect(str(path))
    features = pd.DataFrame([r for f in folds for t in targets for r in candidate_rows(f, t, n_users)])
    features["rank_history_untuned"] = [
        (item % 10) // 2 if untuned and item != 999 and item % 2 == 0 else None
        for item in features["item_id"]]
    features["score_history_untuned"] = [None if r is None else 1.0 / r
                                         for r in features["rank_history_untuned"]]
    con.register("features_df", features)
    extra = ("rank_history_untuned::integer as rank_history_untuned, "
             "score_history_untuned::double as score_history_untuned," if untuned else "")
    con.execute(
        f"""
        create table candidate_features as
        select fold, target, uid::uinteger as uid, item_id::uinteger as item_id,
               rank_mostpop::integer as rank_mostpop, score_mostpop::double as score_mostpop,
               rank_history::integer as rank_history, score_history::double as score_history,
               {extra}
               user_item_listens::bigint as user_item_listens,
               artist_id::uinteger as artist_id, last_listen_ts::uinteger as last_listen_ts
        from features_df
        """
    )
    con.execute(
        """
        create table candidates as
        select fold, target, 'mostpop' as model, uid, item_id, rank_mostpop as rank, score_mostpop as score
        from candidate_features
        union all
        select fold, target, 'history', uid, item_id, rank_history, score_history
        from candidate_features where rank_history is not null
        """
    )
    if untuned:
        con.execute(
            """
            insert into candidates
            select fold, target, 'history_untuned', uid, item_id, rank_history_untuned,
                   score_history_untuned
            from candidate_features where rank_history_untuned is not null
            """
        )
    con.execute(
        """
        create table eval_targets as
        select fold, target, uid, item_id, 1::utinyint as is_organic, 1 as target_events,
               0::uinteger as first_target_ts
        from candidate_features where user_item_listens > 0
        """
    )
    con.execute(
        """
        create table folds as
        select * from (values ('val', 1000::uinteger, 1100::uinteger, 2000::uinteger),
                              ('test', 2000::uinteger, 2100::uinteger, 3000::uinteger))
            t(fold, history_end_ts, target_start_ts, target_end_ts)
        """
    )
    con.close()
    return path


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
