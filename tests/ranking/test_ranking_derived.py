import duckdb
import numpy as np
import pytest

from recsys.ranking.dataset import RankingDataError, column_types, feature_columns, load_frame
from recsys.ranking.derived import DERIVED_FEATURES, derivable


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("""
        create table candidate_features as
        select * from (values
            ('val', 'listen_plus', 1::uinteger, 10::uinteger, 1, 2::bigint, 8::bigint, 4::bigint),
            ('val', 'listen_plus', 1::uinteger, 11::uinteger, 2, 6::bigint, 8::bigint, 4::bigint),
            ('val', 'listen_plus', 2::uinteger, 10::uinteger, 1, 0::bigint, 0::bigint, 0::bigint)
        ) t(fold, target, uid, item_id, rank_history, ui_listen_events, user_listen_events,
            user_distinct_items)
    """)
    con.execute("""
        create table eval_targets as
        select * from (values ('val', 'listen_plus', 1::uinteger, 11::uinteger),
                              ('val', 'listen_plus', 2::uinteger, 10::uinteger))
            t(fold, target, uid, item_id)
    """)
    return con


def test_derivable_needs_every_input():
    assert derivable(["ui_listen_events", "user_listen_events"]) == ["ui_listen_share"]
    assert derivable(["ui_listen_events"]) == []
    assert all(len(d.inputs()) == 2 for d in DERIVED_FEATURES.values())


def test_derived_ratios_are_features_and_computed_per_row(con):
    types = column_types(con, "candidate_features")
    names = feature_columns(types, ["history"])
    assert names[-2:] == ["ui_listen_share", "user_listens_per_item"]
    assert "user_listens_per_item" not in feature_columns(types, ["history"], exclude=["user_listens_per_item"])
    frame = load_frame(con, "val", "listen_plus", models=["history"], per_model=5)
    share = frame.features[:, frame.feature_names.index("ui_listen_share")]
    per_item = frame.features[:, frame.feature_names.index("user_listens_per_item")]
    np.testing.assert_allclose(share[:2], [0.25, 0.75])
    np.testing.assert_allclose(per_item[:2], [2.0, 2.0])
    # a zero denominator is missing (NaN), not a division error or infinity
    assert np.isnan(share[2]) and np.isnan(per_item[2])
    assert frame.labels.tolist() == [0, 1, 1]


def test_trained_derived_feature_needs_its_inputs(con):
    con.execute("alter table candidate_features drop column user_distinct_items")
    with pytest.raises(RankingDataError, match="user_listens_per_item"):
        load_frame(con, "val", "listen_plus", models=["history"], features=["rank_history", "user_listens_per_item"])
    frame = load_frame(con, "val", "listen_plus", models=["history"], features=["rank_history", "ui_listen_share"])
    assert frame.feature_names == ["rank_history", "ui_listen_share"]
