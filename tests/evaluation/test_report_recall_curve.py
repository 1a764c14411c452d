"""sql/metrics/recall_curve.sql (the report's Recall@k curves) on a hand-made warehouse."""

import duckdb
import pandas as pd
import pytest
from eval_fixtures import EVAL_TARGETS, RECOMMENDATIONS

from recsys.evaluation.sql import run_query

# (uid, target items) of the test fold, target like; user 3 has no list from model a
TARGETS = {1: [10, 20, 30], 2: [50], 3: [70, 80]}
LISTS = {  # (model, uid) -> items by rank
    ("a", 1): [10, 40, 20], ("a", 2): [60, 50],
    ("b", 1): [30], ("b", 2): [50], ("b", 3): [99],
    ("a", 9): [10],  # user 9 is not evaluated: ignored
}


@pytest.fixture()
def con():
    con = duckdb.connect()
    con.execute(f"create table eval_targets ({EVAL_TARGETS})")
    con.execute(f"create table recommendations ({RECOMMENDATIONS})")
    targets = [("test", "like", uid, item, 1, 2, 0, 0) for uid, items in TARGETS.items()
               for item in items]
    targets.append(("val", "like", 1, 40, 1, 1, 0, 0))  # another fold: left out by `fold`
    lists = [("test", "like", model, uid, item, rank, 1.0 / rank)
             for (model, uid), items in LISTS.items() for rank, item in enumerate(items, start=1)]
    lists.append(("val", "like", "a", 1, 40, 1, 1.0))
    con.executemany("insert into eval_targets values (?, ?, ?, ?, ?, ?, ?, ?)", targets)
    con.executemany("insert into recommendations values (?, ?, ?, ?, ?, ?, ?)", lists)
    yield con
    con.close()


def curve(con, **variables) -> pd.Series:
    frame = run_query(con, "recall_curve", {"fold": "test", **variables})
    assert list(frame.columns) == ["fold", "target", "model", "k", "value", "users"]
    assert (frame["users"] == 3).all()  # every evaluated user, with or without a list
    return frame.set_index(["model", "k"])["value"]


def test_recall_at_one_and_two_by_hand(con):
    values = curve(con, curve_ks=[1, 2])
    # a: user 1 hits 10 at rank 1 (1/3), user 2 hits 50 at rank 2, user 3 has no list
    assert values[("a", 1)] == pytest.approx((1 / 3 + 0 + 0) / 3)
    assert values[("a", 2)] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert values[("b", 1)] == pytest.approx((1 / 3 + 1 + 0) / 3)
    assert values[("b", 2)] == pytest.approx((1 / 3 + 1 + 0) / 3)


def test_default_cut_offs(con):
    values = curve(con)
    assert sorted(set(values.index.get_level_values("k"))) == [1, 2, 5, 10, 20, 50, 100]
    assert values[("a", 100)] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_equals_the_recall_of_accuracy_sql_at_ten(con):
    accuracy = run_query(con, "accuracy", {"ks": [10], "fold": "test"})
    if "convention" in accuracy:
        accuracy = accuracy[accuracy["convention"] == "standard"]
    accuracy = accuracy[(accuracy["metric"] == "recall") & (accuracy["subset"] == "all")]
    expected = accuracy.set_index(["model", "k"])["value"].sort_index()
    values = curve(con, curve_ks=[10]).sort_index()
    pd.testing.assert_series_equal(values, expected, check_names=False)
    assert values[("a", 10)] == pytest.approx((2 / 3 + 1 + 0) / 3)


def test_every_fold_without_the_fold_variable(con):
    frame = run_query(con, "recall_curve", {"curve_ks": [1]})
    assert set(frame["fold"]) == {"test", "val"}
    val = frame[frame["fold"] == "val"].set_index("model")["value"]
    assert val["a"] == 1.0 and len(val) == 1
