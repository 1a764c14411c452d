"""ranker.discovery_slots: places kept for unseen items, chosen on held-out val users."""

import duckdb
import numpy as np
import pytest

from recsys.errors import ConfigError
from recsys.ranking.dataset import RankingFrame
from recsys.ranking.model import top_k_per_user
from recsys.ranking.training import QueryPlan, heldout_metrics
from recsys.sections.ranker import ranker_config

# user 1: scores 9..4 on items 1..6, items 5 and 6 unseen; user 2: items 7, 8, both seen
UIDS = np.array([1, 1, 1, 1, 1, 1, 2, 2])
ITEMS = np.array([1, 2, 3, 4, 5, 6, 7, 8])
SCORES = np.array([9.0, 8, 7, 6, 5, 4, 2, 1])
UNSEEN = np.array([False, False, False, False, True, True, False, False])


def kept(k, slots):
    order, ranks = top_k_per_user(UIDS, ITEMS, SCORES, k, unseen=UNSEEN, slots=slots)
    return ITEMS[order].tolist(), ranks.tolist()


def test_unseen_items_take_the_last_places_of_a_list_short_of_them():
    assert kept(3, 0) == ([1, 2, 3, 7, 8], [1, 2, 3, 1, 2])
    assert kept(3, 1) == ([1, 2, 5, 7, 8], [1, 2, 3, 1, 2])  # user 2 has no unseen item
    assert kept(3, 2) == ([1, 5, 6, 7, 8], [1, 2, 3, 1, 2])
    assert kept(3, 5) == ([1, 5, 6, 7, 8], [1, 2, 3, 1, 2])  # only two unseen to give
    assert kept(5, 1) == ([1, 2, 3, 4, 5, 7, 8], [1, 2, 3, 4, 5, 1, 2])  # already has one
    assert kept(2, 2) == ([5, 6, 7, 8], [1, 2, 1, 2])


def test_held_out_recall_follows_the_slots_and_the_option_is_checked():
    con = duckdb.connect()
    # user 1's targets: item 1 (seen) and item 6 (unseen); user 2's: item 8
    con.execute("create table eval_targets as select * from (values ('val', 'like', 1, 1, 1), "
                "('val', 'like', 1, 6, 0), ('val', 'like', 2, 8, 1)) "
                "t(fold, target, uid, item_id, is_repeat)")
    frame = RankingFrame(UIDS.astype(np.uint32), ITEMS.astype(np.uint32),
                         np.zeros((8, 1), np.float32), np.isin(ITEMS, [1, 6, 8]).astype(np.uint8),
                         ["f"], np.zeros(8, np.uint8), UNSEEN)
    plan = QueryPlan(("val",), {}, {"val": np.array([1, 2])}, 2, heldout={"val": np.array([1, 2])})

    def recall(slots):
        out = heldout_metrics(con, "like", plan, frame, SCORES, k=2, recall_k=3, slots=slots)
        return out["recall@3"]

    assert recall(0) == pytest.approx((0.5 + 1) / 2)
    assert recall(2) == pytest.approx((1 + 1) / 2)  # item 6 enters user 1's three
    # by segment: repeats (items 1 and 8) over users 1 and 2; discovery (item 6) over user 1
    out = heldout_metrics(con, "like", plan, frame, SCORES, k=2, recall_k=3, slots=0)
    assert (out["repeat_recall@3"], out["discovery_recall@3"]) == (1.0, 0.0)
    out = heldout_metrics(con, "like", plan, frame, SCORES, k=2, recall_k=3, slots=2)
    assert (out["repeat_recall@3"], out["discovery_recall@3"]) == (1.0, 1.0)
    out = heldout_metrics(con, "like", plan, frame, SCORES, k=2, recall_k=2, slots=1)
    assert (out["repeat_recall@2"], out["discovery_recall@2"]) == (1.0, 0.0)  # item 5 came in
    assert ranker_config({"ranker": {"discovery_slots": [20, 0, 20]}}).discovery_slots == (0, 20)
    with pytest.raises(ConfigError, match="discovery_slots"):
        ranker_config({"ranker": {"discovery_slots": [200]}})


def test_the_mart_says_which_candidates_are_unseen(tmp_path):
    from ranking_fixtures import build_warehouse

    from recsys.ranking.dataset import load_frame

    path = build_warehouse(tmp_path / "w.duckdb")
    with duckdb.connect(str(path)) as con:
        assert load_frame(con, "val", "listen_plus", per_model=6).unseen is None  # no such column
        con.execute("alter table candidate_features add column ui_listen_events bigint")
        con.execute("update candidate_features set ui_listen_events = case when item_id % 10 = 1 "
                    "then 3 when item_id % 10 = 2 then 0 end")
        frame = load_frame(con, "val", "listen_plus", per_model=6)
    # listened to: items ending in 1; 0 or NULL listens: unseen
    assert frame.unseen.tolist() == (frame.item_ids % 10 != 1).tolist()
