"""The marts of a ``dbt build`` on generated tiny data, checked against pandas computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.warehouse import connect

pytestmark = pytest.mark.slow

TEST_HISTORY_END, TEST_TARGET_START = 25_911_800, 25_913_600
VAL_HISTORY_END, VAL_TARGET_START, VAL_TARGET_END = 25_823_600, 25_825_400, 25_911_800


def read(settings, sql: str, params=None) -> pd.DataFrame:
    con = connect(settings.warehouse, read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def pandas_eval_targets(flat, history_end: int, target_start: int, target_end: int) -> pd.DataFrame:
    """The protocol, written independently of the SQL: see YAMBDA.md."""
    listens = pd.read_parquet(flat / "listens.parquet")
    likes = pd.read_parquet(flat / "likes.parquet")
    events = {"listen_plus": listens[listens.played_ratio_pct >= 50], "like": likes}
    frames = []
    for target, df in events.items():
        history_users = set(df.loc[df.timestamp < history_end, "uid"])
        window = df[(df.timestamp >= target_start) & (df.timestamp < target_end)]
        window = window[window.uid.isin(history_users)]
        window = window.sort_values(["uid", "item_id", "timestamp", "is_organic"])
        grouped = window.groupby(["uid", "item_id"], as_index=False).agg(
            is_organic=("is_organic", "first"),
            target_events=("timestamp", "size"),
            first_target_ts=("timestamp", "min"),
        )
        grouped.insert(0, "target", target)
        frames.append(grouped)
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["target", "uid", "item_id"]).reset_index(drop=True)


@pytest.mark.parametrize(
    "fold, bounds",
    [("test", (TEST_HISTORY_END, TEST_TARGET_START, 2**32 - 1)),
     ("val", (VAL_HISTORY_END, VAL_TARGET_START, VAL_TARGET_END))],
)
def test_eval_targets_equal_an_independent_pandas_computation(tiny_warehouse, fold, bounds):
    expected = pandas_eval_targets(tiny_warehouse.flat_dir, *bounds)
    got = read(
        tiny_warehouse,
        "select target, uid, item_id, is_organic, target_events, first_target_ts from eval_targets "
        "where fold = ? order by target, uid, item_id",
        [fold],
    )
    assert len(expected) > 100 and set(expected.target) == {"listen_plus", "like"}
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_folds_are_the_papers(tiny_warehouse):
    folds = read(tiny_warehouse, "select * from folds order by fold_index")
    # the paper's two, then the default ranker training folds (dbt var n_folds = 4)
    assert folds.fold.tolist() == ["test", "val", "val_2", "val_3"]
    assert folds.history_end_ts.tolist()[:2] == [TEST_HISTORY_END, VAL_HISTORY_END]
    assert folds.target_start_ts.tolist()[:2] == [TEST_TARGET_START, VAL_TARGET_START]
    assert folds.target_end_ts.tolist()[1] == VAL_TARGET_END


def test_train_interactions_match_pandas_for_likes_net_of_unlikes(tiny_warehouse):
    flat = tiny_warehouse.flat_dir
    likes = pd.read_parquet(flat / "likes.parquet").assign(action=1, order=1)
    unlikes = pd.read_parquet(flat / "unlikes.parquet").assign(action=0, order=2)
    actions = pd.concat([likes, unlikes])
    actions = actions[actions.timestamp < TEST_HISTORY_END]
    last = actions.sort_values(["timestamp", "order"]).groupby(["uid", "item_id"]).tail(1)
    liked = last[last.action == 1].set_index(["uid", "item_id"]).index
    got = read(
        tiny_warehouse,
        "select uid, item_id, target_events, is_liked from train_interactions "
        "where fold = 'test' and target = 'like'",
    ).set_index(["uid", "item_id"])
    like_counts = likes[likes.timestamp < TEST_HISTORY_END].groupby(["uid", "item_id"]).size()
    assert got.loc[like_counts.index, "target_events"].tolist() == like_counts.tolist()
    assert set(got.index[got.is_liked == 1]) == set(liked)


def test_listen_plus_interactions_match_pandas(tiny_warehouse):
    listens = pd.read_parquet(tiny_warehouse.flat_dir / "listens.parquet")
    before = listens[listens.timestamp < VAL_HISTORY_END]
    plus = before[before.played_ratio_pct >= 50]
    expected = plus.groupby(["uid", "item_id"]).agg(
        target_events=("timestamp", "size"), last_target_ts=("timestamp", "max")
    )
    expected["decayed"] = (
        plus.assign(w=0.5 ** ((VAL_HISTORY_END - plus.timestamp.astype("int64")) / (7 * 86400)))
        .groupby(["uid", "item_id"]).w.sum()
    )
    got = read(
        tiny_warehouse,
        "select uid, item_id, target_events, last_target_ts, decayed_target_events as decayed "
        "from train_interactions where fold = 'val' and target = 'listen_plus' and target_events > 0",
    ).set_index(["uid", "item_id"]).sort_index()
    assert got.index.equals(expected.index)
    assert got.target_events.tolist() == expected.target_events.tolist()
    assert got.last_target_ts.tolist() == expected.last_target_ts.tolist()
    np.testing.assert_allclose(got.decayed, expected.decayed, rtol=1e-5)


@pytest.mark.parametrize(
    "table, columns",
    [
        ("folds", ["fold", "history_end_ts", "target_start_ts", "target_end_ts"]),
        ("eval_targets", ["fold", "target", "uid", "item_id", "is_organic", "target_events", "first_target_ts"]),
        ("train_interactions", ["fold", "target", "uid", "item_id", "target_events",
                                "decayed_target_events", "first_target_ts", "last_target_ts",
                                "listen_events", "listen_plus_events", "is_liked", "is_disliked"]),
        ("item_features", ["fold", "item_id", "artist_id", "album_id"]),
        ("item_embeddings", ["item_id", "normalized_embed"]),
        ("candidate_features", ["fold", "target", "uid", "item_id", "rank_itemknn", "score_itemknn"]),
    ],
)
def test_marts_have_the_architecture_contract_columns(tiny_warehouse, table, columns):
    got = read(tiny_warehouse, f"select * from {table} limit 0").columns.tolist()
    assert [c for c in got if c in columns] == columns


def test_contract_types(tiny_warehouse):
    types = dict(read(
        tiny_warehouse,
        "select table_name || '.' || column_name as c, data_type from information_schema.columns",
    ).values)
    assert types["eval_targets.uid"] == "UINTEGER"
    assert types["eval_targets.is_organic"] == "UTINYINT"
    assert types["train_interactions.last_target_ts"] == "UINTEGER"
    assert types["item_embeddings.normalized_embed"] == "FLOAT[]"


def test_item_features_cover_every_item_with_history(tiny_warehouse):
    flat = tiny_warehouse.flat_dir
    items = set()
    for name in ["listens", "likes", "dislikes", "unlikes", "undislikes"]:
        df = pd.read_parquet(flat / f"{name}.parquet", columns=["timestamp", "item_id"])
        items |= set(df.item_id[df.timestamp < TEST_HISTORY_END])
    got = read(tiny_warehouse, "select item_id from item_features where fold = 'test'")
    assert set(got.item_id) == items and len(got) == len(items)


def test_the_listens_grain_is_stored_once(tiny_warehouse):
    """Of the models at the (fold, uid, item_id) grain of every listened pair, only the listens'
    aggregate is a table: the join with the reactions is a view (a second stored copy of that
    grain was a third of the warehouse)."""
    kinds = dict(read(tiny_warehouse, "select table_name, table_type from information_schema.tables "
                      "where table_name like 'int_user_item_%'").values)
    assert kinds["int_user_item_listens_aggregated"] == "BASE TABLE"
    assert kinds["int_user_item_history_joined"] == "VIEW"


def test_fresh_build_has_an_empty_candidate_features(tiny_warehouse):
    assert read(tiny_warehouse, "select count(*) as n from candidate_features").n[0] == 0


def test_views_work_in_a_renamed_copy_of_the_warehouse(tiny_warehouse, tmp_path):
    # views must not name the catalog (the file's stem): users copy and rename warehouses
    import shutil

    copy = tmp_path / "renamed_copy.duckdb"
    shutil.copyfile(tiny_warehouse.warehouse, copy)
    con = connect(copy, read_only=True)
    try:
        views = [r[0] for r in con.execute("select view_name from duckdb_views() where not internal").fetchall()]
        assert "user_item_features" in views and "stg_listens" in views
        for view in views:
            con.execute(f'select * from "{view}" limit 1').fetchall()
    finally:
        con.close()
