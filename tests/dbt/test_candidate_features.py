"""candidate_features: the Python-written candidates pivoted per model and joined with features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dbt_helpers import copy_warehouse, dbt_paths

from recsys.dbt_runner import build_candidate_features
from recsys.warehouse import connect

pytestmark = pytest.mark.slow

# the ratio columns dbt appends to the mart (macros/ratios.sql), in column order
RATIO_COLUMNS = ["ui_listen_share", "ui_decayed_listen_share", "ui_listens_7d_share",
                 "ui_listens_30d_share", "user_listens_per_item", "item_trend_1d_7d",
                 "item_trend_7d_30d", "ui_item_listens_30d_share"]


@pytest.fixture(scope="module")
def with_candidates(tiny_warehouse, tmp_path_factory):
    """A copy of the tiny warehouse with a hand-made `candidates` table, and the mart rebuilt."""
    work = tmp_path_factory.mktemp("candidates")
    settings = copy_warehouse(tiny_warehouse, work)
    con = connect(settings.warehouse)
    try:
        uid, seen = con.execute(
            "select uid, item_id from user_item_features join item_embeddings using (item_id) "
            "where fold = 'test' order by ui_listen_events desc, uid, item_id limit 1"
        ).fetchone()
        cold = 4_000_000_000  # an item nobody has seen
        candidates = pd.DataFrame({
            "fold": ["test"] * 4,
            "target": ["listen_plus"] * 4,
            "model": ["itemknn", "mostpop", "itemknn", "some_new_model"],
            "uid": [uid] * 4,
            "item_id": [seen, seen, cold, cold],
            "rank": [1, 3, 2, 1],
            "score": [0.9, 0.5, 0.4, 7.0],
        })
        con.register("candidates_df", candidates)
        con.execute(
            "create table candidates as select fold, target, model, uid::uinteger as uid, "
            "item_id::uinteger as item_id, rank::integer as rank, score::double as score from candidates_df"
        )
    finally:
        con.close()
    # ranker_models null: every model of `candidates` (the default lists the ranker's generators)
    summary = build_candidate_features(settings, vars={"ranker_models": None}, **dbt_paths(work))
    con = connect(settings.warehouse, read_only=True)
    try:
        frame = con.execute("select * from candidate_features order by item_id").df()
        features = con.execute(
            "select * from user_item_features where fold = 'test' and uid = ? and item_id = ?", [uid, seen]
        ).df()
        profile = con.execute(
            "select profile_embed from int_user_content_profiles where fold = 'test' and uid = ?", [uid]
        ).fetchone()[0]
        embed = con.execute("select normalized_embed from item_embeddings where item_id = ?", [seen]).fetchone()
    finally:
        con.close()
    return {"frame": frame, "seen": seen, "cold": cold, "ui": features, "profile": profile,
            "embed": embed, "summary": summary, "settings": settings, "work": work}


def test_one_row_per_candidate_pair_with_a_rank_per_model(with_candidates):
    frame, seen, cold = with_candidates["frame"], with_candidates["seen"], with_candidates["cold"]
    assert frame.item_id.tolist() == [seen, cold]
    hot, new = frame.iloc[0], frame.iloc[1]
    assert (hot.rank_itemknn, hot.rank_mostpop, hot.score_mostpop) == (1, 3, 0.5)
    assert pd.isna(hot.rank_bpr) and pd.isna(hot.score_audio)  # not proposed: NULL, not filled
    assert hot.candidate_models == 2 and new.candidate_models == 2  # some_new_model counts, no column
    assert "rank_some_new_model" not in frame.columns


def test_features_joined_point_in_time(with_candidates):
    frame, ui = with_candidates["frame"], with_candidates["ui"]
    hot, new = frame.iloc[0], frame.iloc[1]
    assert hot.ui_listen_events == ui.ui_listen_events.item() > 0
    assert hot.user_listen_events == new.user_listen_events > 0
    assert pd.isna(new.ui_listen_events) and pd.isna(new.item_listen_events)  # cold item: no history
    assert "is_organic" not in frame.columns and "target_events" not in frame.columns  # no labels


def test_ratio_features_are_the_last_columns(with_candidates):
    # the ranker's feature order is the mart's column order; values: unit test candidate_features_ratios_by_hand
    frame = with_candidates["frame"]
    assert list(frame.columns[-len(RATIO_COLUMNS):]) == RATIO_COLUMNS
    assert (frame.dtypes[RATIO_COLUMNS] == "float64").all()
    hot, new = frame.iloc[0], frame.iloc[1]
    assert hot.ui_listen_share == hot.ui_listen_events / hot.user_listen_events
    assert pd.isna(new.ui_listen_share) and pd.isna(new.item_trend_1d_7d)  # cold item: no history


def test_content_cosine_is_the_cosine_to_the_users_profile(with_candidates):
    hot = with_candidates["frame"].iloc[0]
    a, b = np.asarray(with_candidates["embed"][0]), np.asarray(with_candidates["profile"])
    assert hot.content_cosine == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-4)
    assert pd.isna(with_candidates["frame"].iloc[1].content_cosine)  # cold item: no embedding


def test_only_candidate_features_was_rebuilt(with_candidates):
    names = list(with_candidates["summary"].statuses)
    assert "model candidate_features" in names
    assert not any(n.startswith("model ") and n != "model candidate_features" for n in names)


def test_candidate_max_rank_keeps_each_generators_top_n(with_candidates):
    """var candidate_max_rank = 1: itemknn's rank-2 and mostpop's rank-3 proposals are dropped."""
    settings, work, seen, cold = (with_candidates[k] for k in ("settings", "work", "seen", "cold"))
    build_candidate_features(settings, vars={"candidate_max_rank": 1, "ranker_models": None},
                             **dbt_paths(work / "top1"))
    con = connect(settings.warehouse, read_only=True)
    try:
        frame = con.execute("select * from candidate_features order by item_id").df()
    finally:
        con.close()
    assert frame.item_id.tolist() == [seen, cold]
    hot, new = frame.iloc[0], frame.iloc[1]
    assert hot.rank_itemknn == 1 and pd.isna(hot.rank_mostpop) and pd.isna(hot.score_mostpop)
    assert pd.isna(new.rank_itemknn) and new.candidate_models == 1 == hot.candidate_models


def test_only_the_ranker_models_candidates_enter(with_candidates):
    """var ranker_models = [itemknn]: mostpop's and some_new_model's candidates stay out, also
    from the count (candidates of models no longer configured are never read)."""
    settings, work, seen, cold = (with_candidates[k] for k in ("settings", "work", "seen", "cold"))
    build_candidate_features(settings, vars={"ranker_models": ["itemknn"]},
                             **dbt_paths(work / "itemknn"))
    con = connect(settings.warehouse, read_only=True)
    try:
        frame = con.execute("select * from candidate_features order by item_id").df()
    finally:
        con.close()
    assert frame.item_id.tolist() == [seen, cold]
    assert (frame.candidate_models == 1).all() and frame.rank_itemknn.tolist() == [1, 2]
    assert frame.rank_mostpop.isna().all()
