import duckdb
import pytest

from recsys.ranking.leakage import LeakageError, check_point_in_time


def test_clean_table_passes_and_checks_the_timestamp_columns(warehouse):
    con = duckdb.connect(str(warehouse))
    assert check_point_in_time(con, "val") == ["last_listen_ts"]


def test_timestamp_at_the_cut_off_is_caught(warehouse):
    con = duckdb.connect(str(warehouse))
    # val's history ends at 1000 (exclusive): an event at 1000 belongs to the future
    con.execute("update candidate_features set last_listen_ts = 1000 where fold = 'val' and uid = 3")
    with pytest.raises(LeakageError, match="last_listen_ts reaches the cut-off 1000"):
        check_point_in_time(con, "val")
    # test's cut-off is 2000, so the same value is fine there
    con.execute("update candidate_features set last_listen_ts = 1000 where fold = 'test'")
    check_point_in_time(con, "test")


def test_negative_elapsed_time_and_label_columns_are_caught(warehouse):
    con = duckdb.connect(str(warehouse))
    con.execute("alter table candidate_features add column days_since_last_listen double default 1.5")
    check_point_in_time(con, "val")
    con.execute("update candidate_features set days_since_last_listen = -0.1 where uid = 2")
    with pytest.raises(LeakageError, match="days_since_last_listen is negative"):
        check_point_in_time(con, "val")
    con.execute("update candidate_features set days_since_last_listen = 1")
    con.execute("alter table candidate_features add column target_events integer default 0")
    with pytest.raises(LeakageError, match="label column 'target_events'"):
        check_point_in_time(con, "val")
