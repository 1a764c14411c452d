"""The SQL in sql/metrics/ equals the plain-Python definitions, by hand and on random data."""

import math

import duckdb
import pandas as pd
import pytest
from eval_fixtures import formula_ndcg, reference_metrics, write_warehouse

from recsys.evaluation.sql import run_query

KEYS = ["fold", "target", "model", "convention", "subset", "metric", "k"]
CONVENTIONS = ("standard", "paper", "official")
KS = [1, 3, 5, 10]


def run_all(path, ks, convention="standard", **variables) -> pd.DataFrame:
    """Every query of one convention (popularity and diversity exist in the standard one only)."""
    queries = ("accuracy", "coverage") + (("popularity", "diversity") if convention == "standard" else ())
    con = duckdb.connect(str(path), read_only=True)
    try:
        frames = [run_query(con, q, {"ks": ks, "convention": convention, **variables})
                  for q in queries]
    finally:
        con.close()
    frame = pd.concat(frames).drop(columns=["uid", "weight"])
    return frame.sort_values(KEYS).reset_index(drop=True)


def assert_same(sql: pd.DataFrame, expected: pd.DataFrame) -> None:
    merged = sql.merge(expected, on=KEYS, how="outer", suffixes=("_sql", "_py"), indicator=True)
    only = merged[merged["_merge"] != "both"]
    assert only.empty, f"rows in one result only:\n{only}"
    assert (merged["users_sql"] == merged["users_py"]).all()
    diff = (merged["value_sql"] - merged["value_py"]).abs()
    assert diff.max() < 1e-9, merged.loc[diff.idxmax()]


@pytest.fixture(scope="module")
def hand_built(tmp_path_factory):
    """Four evaluated users of one fold and target, two models; every case the definitions single
    out. Columns of eval_targets: fold, target, uid, item, is_organic, target_events, first ts,
    is_repeat."""
    T = ("test", "like")
    eval_targets = [
        (*T, 1, 10, 1, 3, 0, 1), (*T, 1, 11, 0, 1, 0, 0),  # user 1: 10 organic repeat x3, 11 rec
        (*T, 2, 10, 1, 1, 0, 0),                            # user 2: no recommendations at all
        (*T, 3, 13, 0, 1, 0, 1), (*T, 3, 14, 0, 1, 0, 0), (*T, 3, 15, 0, 2, 0, 0),  # 3: no hit
        (*T, 4, 31, 1, 1, 0, 1),                            # user 4: tie at the top, by item id
    ]
    recs = [
        (*T, "m", 1, 11, 1, 0.9), (*T, "m", 1, 12, 2, 0.5), (*T, "m", 1, 10, 3, 0.2),
        (*T, "m", 3, 20, 1, 0.7),                      # fewer than k recommendations
        (*T, "m", 4, 31, 1, 0.5), (*T, "m", 4, 32, 2, 0.5),
        (*T, "m", 5, 38, 1, 0.3), (*T, "m", 5, 40, 2, 0.2),  # user 5: history, no targets;
                                                       # item 40 is outside the catalogue
        (*T, "m", 6, 41, 1, 0.3),                      # user 6: no target-type history
        (*T, "pop", 1, 10, 1, 3.0), (*T, "pop", 3, 10, 1, 3.0), (*T, "pop", 4, 10, 1, 3.0),
    ]
    # target-type history: 30 distinct items 10..39 (the Coverage denominator), users 1-5;
    # user 6 only has a disliked item (target_events = 0)
    train = ([(*T, 1, i, 1) for i in range(10, 20)] + [(*T, 2, i, 1) for i in range(20, 30)]
             + [(*T, 3, i, 2) for i in range(30, 40)] + [(*T, 4, 31, 1), (*T, 5, 10, 1),
                                                         (*T, 6, 50, 0)])
    path = write_warehouse(tmp_path_factory.mktemp("hand") / "hand.duckdb",
                           eval_targets=eval_targets, recommendations=recs, train=train,
                           item_features=[("test", i) for i in range(10, 60)])
    return pd.concat([run_all(path, [1, 3], c) for c in CONVENTIONS]).set_index(KEYS)


L3 = 1 / math.log2(3)  # discount at rank 2
L4 = 1 / math.log2(4)  # discount at rank 3


IDCG3 = 1 + 1 / math.log2(3) + 1 / math.log2(4)


@pytest.mark.parametrize(
    ("convention", "model", "subset", "metric", "k", "expected"),
    [
        # user 1 hits at ranks 1 and 3 of |T| = 2; users 2 and 3 score 0; user 4 hits at rank 1
        ("standard", "m", "all", "ndcg", 3, ((1 + L4) / (1 + L3) + 0 + 0 + 1) / 4),
        ("standard", "m", "all", "ndcg", 1, (1 + 0 + 0 + 1) / 4),
        ("standard", "m", "all", "recall", 3, (2 / 2 + 0 + 0 + 1) / 4),
        ("standard", "m", "all", "precision", 3, (2 / 3 + 0 + 0 + 1 / 3) / 4),
        ("standard", "m", "all", "hitrate", 3, (1 + 0 + 0 + 1) / 4),
        ("standard", "m", "all", "mrr", 3, (1 + 0 + 0 + 1) / 4),
        ("standard", "m", "all", "map", 3, ((1 / 1 + 2 / 3) / 2 + 0 + 0 + 1) / 4),
        # organic targets: users 1 ({10}: hit at rank 3), 2 ({10}), 4 ({31}: hit at rank 1)
        ("standard", "m", "organic", "ndcg", 3, (L4 + 0 + 1) / 3),
        ("standard", "m", "organic", "mrr", 3, (1 / 3 + 0 + 1) / 3),
        # recommendation-driven targets: users 1 ({11}: hit at rank 1) and 3 (no hit)
        ("standard", "m", "recommendation", "recall", 3, (1 + 0) / 2),
        # repeats: users 1 ({10}: hit at rank 3), 3 ({13}), 4 ({31}: rank 1); discovery: users
        # 1 ({11}: rank 1), 2 ({10}), 3 ({14, 15})
        ("standard", "m", "repeat", "ndcg", 3, (L4 + 0 + 1) / 3),
        ("standard", "m", "discovery", "recall", 3, (1 + 0 + 0) / 3),
        # pop recommends item 10 to users 1, 3 and 4: only user 1 has it as a target
        ("standard", "pop", "all", "ndcg", 3, (1 / (1 + L3) + 0 + 0 + 0) / 4),
        ("standard", "pop", "organic", "hitrate", 1, (1 + 0 + 0) / 3),
        # coverage: distinct items in the evaluated users' top-k lists over the 30 history items
        ("standard", "m", "all", "coverage", 1, len({11, 20, 31}) / 30),
        ("standard", "m", "all", "coverage", 3, len({11, 12, 10, 20, 31, 32}) / 30),
        ("standard", "pop", "all", "coverage", 3, 1 / 30),
        # paper: n_u = target events (user 1: 3 + 1 = 4, user 3: 4); NDCG a ratio of sums with
        # IDCG over min(n_u, k) ranks: users 1, 3 -> IDCG(3), users 2, 4 -> IDCG(1) = 1
        ("paper", "m", "all", "ndcg", 3, (1 + L4 + 0 + 0 + 1) / (IDCG3 + 1 + IDCG3 + 1)),
        ("paper", "m", "all", "ndcg", 1, (1 + 0 + 0 + 1) / 4),
        ("paper", "m", "all", "recall", 3, (2 / 4 + 0 + 0 + 1 / 1) / 4),
        ("paper", "m", "all", "precision", 3, (2 / 3 + 0 + 0 + 1 / 3) / 4),
        ("paper", "m", "repeat", "recall", 3, (1 / 3 + 0 + 1) / 3),
        ("paper", "pop", "all", "ndcg", 3, (1 + 0 + 0 + 0) / (IDCG3 + 1 + IDCG3 + 1)),
        # official: recall over min(n_u, k); NDCG = HitRate
        ("official", "m", "all", "recall", 3, (2 / 3 + 0 + 0 + 1) / 4),
        ("official", "m", "all", "recall", 1, (1 / 1 + 0 + 0 + 1) / 4),
        ("official", "m", "all", "ndcg", 3, (1 + 0 + 0 + 1) / 4),
        ("official", "m", "all", "ndcg", 1, (1 + 0 + 0 + 1) / 4),
        ("official", "pop", "all", "ndcg", 3, (1 + 0 + 0 + 0) / 4),
        # paper / official coverage: every user with target-type history (1-5, not 6) counts,
        # and every item of their lists, 40 (outside the catalogue) too, as the official code
        ("paper", "m", "all", "coverage", 1, len({11, 20, 31, 38}) / 30),
        ("official", "m", "all", "coverage", 3, len({11, 12, 10, 20, 31, 32, 38, 40}) / 30),
        ("paper", "m", "all", "coverage", 3, len({11, 12, 10, 20, 31, 32, 38, 40}) / 30),
    ],
)
def test_hand_built_values_match_the_formulas(hand_built, convention, model, subset, metric, k,
                                              expected):
    value = hand_built.loc[("test", "like", model, convention, subset, metric, k), "value"]
    assert value == pytest.approx(expected, abs=1e-12)


def test_hand_built_users(hand_built):
    """Averages run over the evaluated users; paper coverage counts the five ranked users."""
    users = hand_built["users"]
    assert users[("test", "like", "m", "paper", "all", "ndcg", 3)] == 4
    assert users[("test", "like", "m", "standard", "repeat", "ndcg", 3)] == 3
    assert users[("test", "like", "m", "standard", "all", "coverage", 3)] == 4
    assert users[("test", "like", "m", "paper", "all", "coverage", 3)] == 5


def test_official_ndcg_equals_hitrate_and_paper_has_no_mrr(hand_built):
    frame = hand_built.reset_index()
    official = frame[frame["convention"] == "official"].set_index(
        ["model", "subset", "k", "metric"])["value"].unstack("metric")
    assert (official["ndcg"] - official["hitrate"]).abs().max() == 0
    assert not set(frame[frame["convention"] != "standard"]["metric"]) & {"mrr", "map", "novelty"}


def test_formula_helper_agrees_with_the_reference():
    from recsys.evaluation.reference import ndcg
    assert ndcg([11, 12, 10], {10, 11}, 3) == pytest.approx(formula_ndcg([1, 3], 2, 3))


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_sql_equals_python_reference_on_random_data(random_warehouse, convention):
    path, fixture = random_warehouse
    sql = run_all(path, KS, convention)
    expected = reference_metrics(fixture, KS, convention=convention)
    assert_same(sql, expected)


def test_conventions_change_only_what_they_define(random_warehouse):
    path, _ = random_warehouse
    ours = run_all(path, [3]).set_index(KEYS)["value"].droplevel("convention")
    paper = run_all(path, [3], "paper").set_index(KEYS)["value"].droplevel("convention")
    official = run_all(path, [3], "official").set_index(KEYS)["value"].droplevel("convention")
    for other in (paper, official):
        for metric in ("recall", "ndcg"):
            keys = [key for key in other.index if key[4] == metric]
            assert (other[keys] - ours[keys]).abs().max() > 1e-6, metric
        same = [key for key in other.index if key[4] in ("precision", "hitrate")]
        assert (other[same] - ours[same]).abs().max() < 1e-12


def test_unknown_convention_is_a_clear_error(random_warehouse):
    path, _ = random_warehouse
    with pytest.raises(duckdb.Error, match="Unknown convention nope"):
        run_all(path, [3], "nope")


def test_fold_variable_restricts_the_rows(random_warehouse):
    path, _ = random_warehouse
    only_val = run_all(path, [5], fold="val")
    assert set(only_val["fold"]) == {"val"}
    both = run_all(path, [5])
    assert_same(only_val, both[both["fold"] == "val"])


def test_per_user_rows_average_to_the_aggregate(random_warehouse):
    path, _ = random_warehouse
    con = duckdb.connect(str(path), read_only=True)
    for convention in CONVENTIONS:
        per_user = run_query(con, "accuracy", {"ks": [5], "per_user": True, "convention": convention})
        aggregate = run_query(con, "accuracy", {"ks": [5], "convention": convention})
        assert (per_user["users"] == 1).all() and per_user["uid"].notna().all()
        per_user["weighted"] = per_user["value"] * per_user["weight"]
        sums = per_user.groupby(KEYS)[["weighted", "weight"]].sum()
        means = (sums["weighted"] / sums["weight"]).rename("mean").reset_index()
        means["size"] = per_user.groupby(KEYS).size().to_numpy()
        merged = aggregate.merge(means, on=KEYS)
        assert len(merged) == len(aggregate)
        assert (merged["value"] - merged["mean"]).abs().max() < 1e-12
        assert (merged["users"] == merged["size"]).all()
    con.close()
