"""The next-song task scored offline, checked by hand on two sessions."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from recsys.evaluation.next_song import (
    MODELS,
    reported_next_song,
    score_next_song,
    write_next_song_lists,
)
from recsys.evaluation.report_sections import next_song_html


@pytest.fixture(scope="module")
def scored(served):
    settings, config = served
    with duckdb.connect(str(settings.warehouse)) as con:
        # user 11 played 102 then 101 and next 103; user 12 an unknown 999 and next 101
        con.execute("create table next_song_queries as select * from (values "
                    "('test', 11, 1, [102, 101], 103), ('test', 12, 7, [999], 101)) "
                    "t(fold, uid, session, query_items, answer_item)")
    written = write_next_song_lists(settings, config, "test", 3)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return settings, written, score_next_song(con, config, "test", [3])


def test_every_model_gets_a_list_per_session(scored):
    settings, written, _ = scored
    assert set(written) == set(MODELS) and written["next_song"] == 6  # 2 sessions x 3
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = con.execute("select uid, session, item_id from next_song_recommendations where "
                           "model = 'next_song' order by uid, session, rank").fetchall()
    # after [102, 101]: 102 (2/3), 104 (0.5 from 102), 103 (1/3); after [999]: popularity
    assert rows == [(11, 1, 102), (11, 1, 104), (11, 1, 103), (12, 7, 102), (12, 7, 103), (12, 7, 104)]


def test_metrics_by_hand(scored):
    _, _, table = scored
    got = table[table["model"] == "next_song"].set_index("metric")["value"]
    # session 1: 103 at rank 3 (HitRate 1, MRR 1/3, NDCG 1/log2 4); session 2: 101 not in the top 3
    assert got["hitrate"] == pytest.approx(0.5)
    assert got["mrr"] == pytest.approx(1 / 3 / 2)
    assert got["ndcg"] == pytest.approx(1 / np.log2(4) / 2)
    assert set(table["sessions"]) == {2}
    assert (table["ci_low"] <= table["value"]).all() and (table["value"] <= table["ci_high"]).all()


def test_lists_are_reused_until_their_inputs_change(scored, served):
    settings, _, _ = scored
    _, config = served
    assert write_next_song_lists(settings, config, "test", 3, reuse=True) == {}
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        # the report scores lists of length 10: these of length 3 are not what it would report
        assert reported_next_song(con, settings, config, "test") is None
    assert write_next_song_lists(settings, config, "test", 10, reuse=True)["next_song"] == 2 * 4
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        table = reported_next_song(con, settings, config, "test")
    assert set(table["model"]) == set(MODELS) and set(table["k"]) == {10}
    html = next_song_html(table, 0.95)
    assert "<h2>Next song</h2>" in html and all(f">{m}</td>" in html for m in MODELS)
