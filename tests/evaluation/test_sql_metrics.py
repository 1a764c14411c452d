"""The SQL in sql/metrics/ equals the plain-Python definitions, by hand and on random data."""

import math

import duckdb
import pandas as pd
import pytest
from eval_fixtures import formula_ndcg, reference_metrics, write_warehouse

from recsys.evaluation.sql import run_query

KEYS = ["fold", "target", "model", "subset", "metric", "k"]
KS = [1, 3, 5, 10]


def run_all(path, ks, **variables) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        frames = [run_query(con, q, {"ks": ks, **variables})
                  for q in ("accuracy", "coverage", "popularity", "diversity")]
    finally:
        con.close()
    return pd.concat(frames).drop(columns="uid").sort_values(KEYS).reset_index(drop=True)


def assert_same(sql: pd.DataFrame, expected: pd.DataFrame) -> None:
    merged = sql.merge(expected, on=KEYS, how="outer", suffixes=("_sql", "_py"), indicator=True)
    only = merged[merged["_merge"] != "both"]
    assert only.empty, f"rows in one result only:\n{only}"
    assert (merged["users_sql"] == merged["users_py"]).all()
    diff = (merged["value_sql"] - merged["value_py"]).abs()
    assert diff.max() < 1e-9, merged.loc[diff.idxmax()]


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """Four users of one fold and target, two models; every case the definitions single out."""
    T = ("test", "like")
    eval_targets = [
        (*T, 1, 10, 1, 3, 0), (*T, 1, 11, 0, 1, 0),   # user 1: T = {10 organic, 11 rec-driven}
        (*T, 2, 10, 1, 1, 0),                          # user 2: no recommendations at all
        (*T, 3, 13, 0, 1, 0), (*T, 3, 14, 0, 1, 0), (*T, 3, 15, 0, 2, 0),  # user 3: no hit
        (*T, 4, 31, 1, 1, 0),                          # user 4: tie at the top, broken by item id
    ]
    recs = [
        (*T, "m", 1, 11, 1, 0.9), (*T, "m", 1, 12, 2, 0.5), (*T, "m", 1, 10, 3, 0.2),
        (*T, "m", 3, 20, 1, 0.7),                      # fewer than k recommendations
        (*T, "m", 4, 31, 1, 0.5), (*T, "m", 4, 32, 2, 0.5),
        (*T, "pop", 1, 10, 1, 3.0), (*T, "pop", 3, 10, 1, 3.0), (*T, "pop", 4, 10, 1, 3.0),
    ]
    path = write_warehouse(tmp_path_factory.mktemp("hand") / "hand.duckdb",
                           eval_targets=eval_targets, recommendations=recs,
                           item_features=[("test", i) for i in range(10, 40)])
    return run_all(path, [1, 3]).set_index(KEYS)["value"]


L3 = 1 / math.log2(3)  # discount at rank 2
L4 = 1 / math.log2(4)  # discount at rank 3


@pytest.mark.parametrize(
    ("model", "subset", "metric", "k", "expected"),
    [
        # user 1 hits at ranks 1 and 3 of |T| = 2; users 2 and 3 score 0; user 4 hits at rank 1
        ("m", "all", "ndcg", 3, ((1 + L4) / (1 + L3) + 0 + 0 + 1) / 4),
        ("m", "all", "ndcg", 1, (1 + 0 + 0 + 1) / 4),
        ("m", "all", "recall", 3, (2 / 2 + 0 + 0 + 1) / 4),
        ("m", "all", "precision", 3, (2 / 3 + 0 + 0 + 1 / 3) / 4),
        ("m", "all", "hitrate", 3, (1 + 0 + 0 + 1) / 4),
        ("m", "all", "mrr", 3, (1 + 0 + 0 + 1) / 4),
        ("m", "all", "map", 3, ((1 / 1 + 2 / 3) / 2 + 0 + 0 + 1) / 4),
        # organic targets: users 1 ({10}: hit at rank 3), 2 ({10}), 4 ({31}: hit at rank 1)
        ("m", "organic", "ndcg", 3, (L4 + 0 + 1) / 3),
        ("m", "organic", "mrr", 3, (1 / 3 + 0 + 1) / 3),
        # recommendation-driven targets: users 1 ({11}: hit at rank 1) and 3 (no hit)
        ("m", "recommendation", "recall", 3, (1 + 0) / 2),
        # pop recommends item 10 to users 1, 3 and 4: only user 1 has it as a target
        ("pop", "all", "ndcg", 3, (1 / (1 + L3) + 0 + 0 + 0) / 4),
        ("pop", "organic", "hitrate", 1, (1 + 0 + 0) / 3),
        # coverage: distinct items in the top-k lists over the 30 history items
        ("m", "all", "coverage", 1, len({11, 20, 31}) / 30),
        ("m", "all", "coverage", 3, len({11, 12, 10, 20, 31, 32}) / 30),
        ("pop", "all", "coverage", 3, 1 / 30),
    ],
)
def test_hand_built_values_match_the_formulas(hand_built, model, subset, metric, k, expected):
    assert hand_built[("test", "like", model, subset, metric, k)] == pytest.approx(expected, abs=1e-12)


def test_formula_helper_agrees_with_the_reference():
    from recsys.evaluation.reference import ndcg
    assert ndcg([11, 12, 10], {10, 11}, 3) == pytest.approx(formula_ndcg([1, 3], 2, 3))


@pytest.mark.parametrize("official", [False, True])
def test_sql_equals_python_reference_on_random_data(random_warehouse, official):
    path, fixture = random_warehouse
    sql = run_all(path, KS, yambda_official=official)
    expected = reference_metrics(fixture, KS, official=official)
    assert_same(sql, expected)


def test_official_convention_changes_only_the_target_size_metrics(random_warehouse):
    path, _ = random_warehouse
    ours = run_all(path, [3], yambda_official=False).set_index(KEYS)["value"]
    official = run_all(path, [3], yambda_official=True).set_index(KEYS)["value"]
    for metric in ("recall", "ndcg", "map"):
        keys = [key for key in ours.index if key[4] == metric]
        assert (official[keys] - ours[keys]).abs().max() > 1e-6, metric
    same = [key for key in ours.index if key[4] in ("precision", "hitrate", "mrr", "coverage")]
    assert (official[same] - ours[same]).abs().max() < 1e-12


def test_fold_variable_restricts_the_rows(random_warehouse):
    path, _ = random_warehouse
    only_val = run_all(path, [5], fold="val")
    assert set(only_val["fold"]) == {"val"}
    both = run_all(path, [5])
    assert_same(only_val, both[both["fold"] == "val"])


def test_per_user_rows_average_to_the_aggregate(random_warehouse):
    path, _ = random_warehouse
    con = duckdb.connect(str(path), read_only=True)
    per_user = run_query(con, "accuracy", {"ks": [5], "per_user": True})
    aggregate = run_query(con, "accuracy", {"ks": [5]})
    con.close()
    assert (per_user["users"] == 1).all() and per_user["uid"].notna().all()
    means = per_user.groupby(KEYS)["value"].agg(["mean", "size"]).reset_index()
    merged = aggregate.merge(means, on=KEYS)
    assert len(merged) == len(aggregate)
    assert (merged["value"] - merged["mean"]).abs().max() < 1e-12
    assert (merged["users"] == merged["size"]).all()
