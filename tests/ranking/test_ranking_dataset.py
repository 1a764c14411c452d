import duckdb
import numpy as np
import pytest

from recsys.ranking.dataset import (
    RankingDataError,
    RankingFrame,
    column_types,
    feature_columns,
    group_sizes,
    load_frame,
    split_users,
    users_with_positive,
)

N_USERS = 30  # as in conftest.py


def frame_of(uids, labels):
    uids = np.asarray(uids, dtype=np.uint32)
    n = len(uids)
    return RankingFrame(uids, np.arange(n, dtype=np.uint32), np.zeros((n, 1), np.float32),
                        np.asarray(labels, dtype=np.uint8), ["f"])


def test_group_sizes_are_runs_of_users_and_sum_to_rows():
    uids = np.array([3, 3, 5, 9, 9, 9], dtype=np.uint32)
    sizes = group_sizes(uids)
    assert sizes.tolist() == [2, 1, 3]
    assert sizes.sum() == len(uids)


def test_group_sizes_reject_unsorted_users():
    with pytest.raises(RankingDataError, match="sorted by uid"):
        group_sizes(np.array([2, 1, 2]))


def test_users_without_positive_are_dropped():
    frame = frame_of([1, 1, 2, 2, 2, 3], [0, 1, 0, 0, 0, 1])
    kept = frame.take(users_with_positive(frame))
    assert kept.uids.tolist() == [1, 1, 3]
    assert kept.group_sizes().tolist() == [2, 1]


def test_user_split_is_seeded_and_keeps_users_whole():
    uids = np.repeat(np.arange(10), 3)
    frame = frame_of(uids, np.ones(len(uids)))
    train, valid = split_users(frame, 0.2, seed=7)
    assert (train ^ valid).all()
    assert len(set(uids[valid])) == 2
    assert not set(uids[valid]) & set(uids[train])
    again = split_users(frame, 0.2, seed=7)[1]
    assert (again == valid).all()
    assert (split_users(frame, 0.0, seed=7)[1] == 0).all()


def test_feature_columns_skip_keys_ids_timestamps_and_unmerged_generators(warehouse):
    con = duckdb.connect(str(warehouse))
    types = column_types(con, "candidate_features")
    assert feature_columns(types, ["mostpop", "history"]) == [
        "rank_mostpop", "score_mostpop", "rank_history", "score_history", "user_item_listens",
    ]
    assert feature_columns(types, ["mostpop"], exclude=["score_mostpop"]) == ["rank_mostpop", "user_item_listens"]


def test_load_frame_labels_sorting_merge_filter_and_missing_values(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    frame = load_frame(con, "val", "listen_plus", models=["mostpop", "history"], per_model=6)
    # 6 candidates per evaluated user; the shared item 999 (mostpop rank 7) is beyond N = 6;
    # user 1000 has no targets, so it is not evaluated
    assert len(frame) == 6 * N_USERS
    assert frame.group_sizes().tolist() == [6] * N_USERS
    order = np.lexsort((frame.item_ids, frame.uids))
    assert (order == np.arange(len(frame))).all()
    assert frame.labels.sum() == 2 * N_USERS
    assert (frame.labels == (frame.item_ids % 10 <= 2)).all()
    history = frame.features[:, frame.feature_names.index("rank_history")]
    assert np.isnan(history[frame.item_ids % 2 == 0]).all()
    assert frame.features.dtype == np.float32


def test_load_frame_merges_any_generator_within_n(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    # N = 3: mostpop contributes items j = 4, 5, 6 and history j = 1, 3, 5 -> union {1, 3, 4, 5, 6}
    frame = load_frame(con, "val", "listen_plus", models=["mostpop", "history"], per_model=3)
    assert sorted(set((frame.item_ids % 10).tolist())) == [1, 3, 4, 5, 6]
    only_mostpop = load_frame(con, "val", "listen_plus", models=["mostpop"], per_model=3)
    assert sorted(set((only_mostpop.item_ids % 10).tolist())) == [4, 5, 6]
    assert "rank_history" not in only_mostpop.feature_names


def test_load_frame_names_missing_generator_and_feature(warehouse):
    con = duckdb.connect(str(warehouse), read_only=True)
    with pytest.raises(RankingDataError, match="ials"):
        load_frame(con, "val", "listen_plus", models=["ials"])
    with pytest.raises(RankingDataError, match="days_since"):
        load_frame(con, "val", "listen_plus", features=["rank_mostpop", "days_since"])
