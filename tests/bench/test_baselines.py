import math

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from recsys.bench import baselines
from recsys.bench.baselines import (
    bench_evaluation,
    bench_listen_plus,
    compare_metrics,
    pandas_accuracy,
    pandas_listen_plus,
    pandas_ndcg_recall,
    reference_sql_ndcg_recall,
)


def d(rank: int) -> float:
    return 1 / math.log2(rank + 1)


@pytest.fixture
def tables():
    """Two users in (test, listen_plus); model a hits u1 at ranks 1 and 3, misses u2 entirely;
    model b has no list for u2 (scores 0); u3 has targets only in (test, like)."""
    recs = pd.DataFrame(
        [
            ("test", "listen_plus", "a", 1, 10, 1), ("test", "listen_plus", "a", 1, 11, 2),
            ("test", "listen_plus", "a", 1, 12, 3), ("test", "listen_plus", "a", 2, 10, 1),
            ("test", "listen_plus", "b", 1, 13, 1), ("test", "listen_plus", "b", 1, 10, 2),
            ("test", "like", "a", 3, 20, 1),
        ],
        columns=["fold", "target", "model", "uid", "item_id", "rank"],
    )
    recs["score"] = -recs["rank"].astype(float)
    targets = pd.DataFrame(
        [
            ("test", "listen_plus", 1, 10), ("test", "listen_plus", 1, 12), ("test", "listen_plus", 1, 99),
            ("test", "listen_plus", 2, 50),
            ("test", "like", 3, 20),
        ],
        columns=["fold", "target", "uid", "item_id"],
    )
    return recs, targets


def expected(model: str, metric: str, k: int) -> float:
    # |T(u1)| = 3, |T(u2)| = 1; both k >= 3 here
    idcg_u1 = d(1) + d(2) + d(3)
    if model == "a":
        return {"ndcg": (d(1) + d(3)) / idcg_u1 / 2, "recall": (2 / 3) / 2}[metric]
    return {"ndcg": d(2) / idcg_u1 / 2, "recall": (1 / 3) / 2}[metric]


def test_pandas_loop_matches_hand_computation(tables):
    recs, targets = tables
    out = pandas_ndcg_recall(recs, targets, ks=[10, 100]).set_index(["target", "model", "metric", "k"])
    for model in ("a", "b"):
        for metric in ("ndcg", "recall"):
            assert out.loc[("listen_plus", model, metric, 10), "value"] == pytest.approx(expected(model, metric, 10))
            assert out.loc[("listen_plus", model, metric, 10), "users"] == 2
    assert out.loc[("like", "a", "ndcg", 10), "value"] == pytest.approx(1.0)


def test_k_cuts_the_list(tables):
    recs, targets = tables
    out = pandas_ndcg_recall(recs, targets, ks=[1]).set_index(["target", "model", "metric"])
    # model a at k=1: u1 hit at rank 1, idcg over min(3, 1) = 1 item
    assert out.loc[("listen_plus", "a", "ndcg"), "value"] == pytest.approx(0.5)
    assert out.loc[("listen_plus", "a", "recall"), "value"] == pytest.approx((1 / 3) / 2)


@pytest.fixture
def con(tables):
    recs, targets = tables
    con = duckdb.connect()
    con.execute("create table recommendations as select * from recs")
    con.execute("create table eval_targets as select *, 1::UTINYINT as is_organic, 1 as target_events, "
                "0::UINTEGER as first_target_ts, 0::UTINYINT as is_repeat from targets")
    yield con
    con.close()


def test_pandas_baseline_equals_sql_metrics(con, tables):
    recs, targets = tables
    sql = reference_sql_ndcg_recall(con, [1, 2, 10, 100])
    pandas = pandas_ndcg_recall(recs, targets, ks=[1, 2, 10, 100])
    check = compare_metrics(sql, pandas)
    assert check["agree"], check
    assert check["rows_compared"] == 3 * 2 * 4  # (listen_plus a, b; like a) x 2 metrics x 4 ks


def test_our_sql_evaluation_equals_pandas_on_fixture(con, tables):
    """The SQL `recsys bench` times (sql/metrics/accuracy.sql, as evaluate runs it) agrees."""
    recs, targets = tables
    check = compare_metrics(baselines.evaluation_sql_accuracy(con, [10, 100]), pandas_ndcg_recall(recs, targets, ks=[10, 100]))
    assert check["agree"], check


def test_compare_metrics_flags_a_mismatch(con, tables):
    recs, targets = tables
    sql = reference_sql_ndcg_recall(con, [10])
    pandas = pandas_ndcg_recall(recs, targets, ks=[10])
    pandas.loc[0, "value"] += 1e-6
    check = compare_metrics(sql, pandas)
    assert not check["agree"] and check["max_abs_diff"] == pytest.approx(1e-6)
    assert not compare_metrics(sql, pandas.iloc[1:])["agree"]  # a missing row


def test_bench_evaluation_result_shape(con):
    out = bench_evaluation(con, repeats=2)
    assert out["agree"] and out["status"] == "ok" and out["repeats"] == 2
    assert len(out["ours_runs_s"]) == len(out["theirs_runs_s"]) == 2
    assert out["ratio_ours_to_theirs"] == pytest.approx(out["ours_s"] / out["theirs_s"])
    assert out["ours_cpu_s"] >= 0 and out["theirs_cpu_s"] > 0 and out["cpu_speedup"] > 0


@pytest.fixture
def listens_file(tmp_path):
    rows = [  # uid, timestamp, item_id, played_ratio_pct
        (1, 100, 5, 50), (1, 200, 5, 90), (1, 300, 5, 10),  # 2 Listen+ events, last at 200
        (1, 150, 6, 49),  # no Listen+
        (2, 400, 5, 120), (2, 999, 5, 100),  # second one at the cut-off: excluded
    ]
    table = pa.table({
        "uid": pa.array([r[0] for r in rows], pa.uint32()),
        "timestamp": pa.array([r[1] for r in rows], pa.uint32()),
        "item_id": pa.array([r[2] for r in rows], pa.uint32()),
        "is_organic": pa.array([1] * len(rows), pa.uint8()),
        "played_ratio_pct": pa.array([r[3] for r in rows], pa.uint16()),
        "track_length_seconds": pa.array([180] * len(rows), pa.uint32()),
    })
    path = tmp_path / "listens.parquet"
    pq.write_table(table, path)
    return path


def test_listen_plus_pandas_by_hand(listens_file):
    out = pandas_listen_plus(listens_file, cutoff=999, threshold=50).sort_values(["uid", "item_id"])
    assert out[["uid", "item_id", "listen_plus_events", "last_listen_plus_ts"]].values.tolist() == [
        [1, 5, 2, 200], [2, 5, 1, 400]
    ]


def test_listen_plus_duckdb_agrees_with_pandas(listens_file):
    con = duckdb.connect()
    out = bench_listen_plus(con, listens_file, cutoff=999, threshold=50, repeats=1)
    assert out["agree"], out
    assert out["checksum"] == {"rows": 2, "sum_events": 3, "sum_last_ts": 600, "sum_uid": 3, "sum_item_id": 10}


# the same table as dbt's int_user_item_listens_aggregated (vars: 50, 30, [1, 7, 30], 7 days) in its
# earlier per-fold-join form: the dbt model itself compiles the fold cut-offs in (see tests/dbt)
MODEL_SQL = """
with l as (
    select f.fold, f.history_end_ts, e.*,
        case when e.played_ratio_pct >= 50 then 1 else 0 end as is_listen_plus,
        case when e.played_ratio_pct < 30 then 1 else 0 end as is_skip,
        cast(f.history_end_ts as bigint) - cast(e.timestamp as bigint) as age
    from stg_listens as e inner join folds as f on e.timestamp < f.history_end_ts
)
select fold, uid, item_id, max(history_end_ts) as history_end_ts, count(*) as listen_events,
    sum(is_listen_plus)::bigint as listen_plus_events, sum(is_organic)::bigint as organic_listen_events,
    sum(is_skip)::bigint as skip_events,
    sum(case when age <= 86400 then 1 else 0 end)::bigint as listens_1d,
    sum(case when age <= 604800 then 1 else 0 end)::bigint as listens_7d,
    sum(case when age <= 2592000 then 1 else 0 end)::bigint as listens_30d,
    min(timestamp) as first_listen_ts, max(timestamp) as last_listen_ts,
    min(case when is_listen_plus = 1 then timestamp end) as first_listen_plus_ts,
    max(case when is_listen_plus = 1 then timestamp end) as last_listen_plus_ts,
    sum(power(0.5, age / (7 * 86400.0))) as decayed_listen_events,
    sum(is_listen_plus * power(0.5, age / (7 * 86400.0))) as decayed_listen_plus_events,
    sum(played_ratio_pct)::bigint as sum_played_ratio_pct, max(track_length_seconds) as track_length_seconds
from l group by fold, uid, item_id
"""


def test_pandas_listens_model_by_hand(listens_file):
    out = baselines.pandas_listens_aggregated(listens_file, [("test", 999), ("val", 250)])
    row = out[(out.fold == "test") & (out.uid == 1) & (out.item_id == 5)].iloc[0]
    assert (row.listen_events, row.listen_plus_events, row.skip_events) == (3, 2, 1)
    assert (row.first_listen_plus_ts, row.last_listen_plus_ts, row.last_listen_ts) == (100, 200, 300)
    assert row.decayed_listen_events == pytest.approx(sum(0.5 ** ((999 - t) / (7 * 86400)) for t in (100, 200, 300)))
    no_plus = out[(out.fold == "test") & (out.item_id == 6)].iloc[0]
    assert no_plus.listen_plus_events == 0 and math.isnan(no_plus.last_listen_plus_ts)
    assert len(out[out.fold == "val"]) == 2  # (1, 5) and (1, 6) before 250


def test_dbt_model_sides_in_fresh_processes_agree_with_pandas(listens_file, tmp_path, monkeypatch):
    # what the benchmark runs: each side spawned in its own process on the warehouse file
    monkeypatch.setenv("RECSYS_TEMP_DIR", str(tmp_path / "spill"))
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create view stg_listens as select * from read_parquet('{listens_file}')")
        con.execute("create table folds as select * from (values ('test', 999::UINTEGER), "
                    "('val', 250::UINTEGER)) t(fold, history_end_ts)")
    folds = [("test", 999), ("val", 250)]
    out = baselines.bench_dbt_listens_model(warehouse, MODEL_SQL, listens_file, folds, repeats=2, warmup=1)
    # per side: one warm-up run listed apart, then the two timed runs the medians come from
    assert len(out["ours_runs_s"]) == len(out["theirs_runs_s"]) == out["repeats"] == 2
    assert len(out["ours_warmup_s"]) == len(out["theirs_warmup_s"]) == out["warmup_runs"] == 1
    assert out["isolation"] == "each run in a fresh process, warm-up runs first"
    assert out["agree"], out["max_abs_diff"]
    assert out["checksum"]["rows"] == 5 and out["checksum"]["listen_plus_events"] == 2 + 1 + 2
    assert out["ours_s"] > 0 and out["theirs_s"] > 0


@pytest.fixture
def mixed_con(tables):
    """The fixture tables with u1's item 10 recommendation-driven (is_organic = 0), the rest organic."""
    recs, targets = tables
    targets = targets.assign(is_organic=[0, 1, 1, 1, 1])
    con = duckdb.connect()
    con.execute("create table recommendations as select * from recs")
    con.execute("create table eval_targets as select fold, target, uid, item_id, is_organic::UTINYINT as is_organic, "
                "1 as target_events, 0::UINTEGER as first_target_ts, 0::UTINYINT as is_repeat from targets")
    yield con, recs, targets
    con.close()


def test_pandas_accuracy_by_hand(mixed_con):
    _, recs, targets = mixed_con
    out = pandas_accuracy(recs, targets, ks=[2, 10]).set_index(["target", "model", "subset", "metric", "k"])
    v = out["value"]
    # model a, all targets: u1 hits at ranks 1 and 3 of |T| = 3, u2 misses
    assert v["listen_plus", "a", "all", "precision", 10] == pytest.approx((2 / 10) / 2)
    assert v["listen_plus", "a", "all", "hitrate", 10] == pytest.approx(0.5)
    assert v["listen_plus", "a", "all", "mrr", 10] == pytest.approx(1 / 2)
    assert v["listen_plus", "a", "all", "map", 10] == pytest.approx((1 / 1 + 2 / 3) / 3 / 2)
    assert v["listen_plus", "a", "all", "map", 2] == pytest.approx((1 / 1) / 2 / 2)  # rank 3 is past k
    # organic subset: u1's targets {12, 99} (hit at rank 3), u2's {50}; recommendation: u1's {10}
    assert v["listen_plus", "a", "organic", "mrr", 10] == pytest.approx((1 / 3) / 2)
    assert v["listen_plus", "a", "organic", "ndcg", 10] == pytest.approx(d(3) / (d(1) + d(2)) / 2)
    assert out.loc[("listen_plus", "a", "recommendation", "recall", 10), "users"] == 1
    assert v["listen_plus", "b", "recommendation", "mrr", 10] == pytest.approx(1 / 2)
    assert len(out) == 3 * 2 * 6 * 2 + 1 * 2 * 6 * 2  # listen_plus: a, b x 3 subsets; like: a x (all, organic)


def test_pandas_accuracy_equals_accuracy_sql(mixed_con):
    """The loop computes exactly what the timed SQL computes: every metric, k and subset."""
    con, recs, targets = mixed_con
    sql = baselines.evaluation_sql_accuracy(con, [1, 2, 10, 100])
    check = compare_metrics(sql, pandas_accuracy(recs, targets, ks=[1, 2, 10, 100]))
    assert check["agree"], check
    # the loop knows the three subsets all / organic / recommendation; the SQL adds repeat and
    # discovery, which the comparison leaves out
    shared = sql[sql["subset"].isin(["all", "organic", "recommendation"])]
    assert check["rows_compared"] == len(shared) == (3 * 2 + 2) * 6 * 4


def test_bench_evaluation_times_accuracy_sql_against_the_full_loop(mixed_con):
    out = bench_evaluation(mixed_con[0], repeats=1)
    assert out["agree"] and out["ours"].startswith("sql/metrics/accuracy.sql")
    assert out["rows_compared"] == (3 * 2 + 2) * 6 * 2


def test_apply_settings_configures_an_in_memory_connection(tmp_path):
    from recsys.config import Settings
    from recsys.warehouse import apply_settings

    con = duckdb.connect()
    apply_settings(con, Settings(memory_limit="1GB", threads=1, temp_dir=tmp_path / "spill"))
    assert con.execute("select current_setting('threads')").fetchone()[0] == 1
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] in ("953.6 MiB", "1.0 GB", "1GB")
    assert (tmp_path / "spill").is_dir()
    con.close()


def test_listens_sides_send_back_timings_and_sums_not_tables(listens_file):
    # each side returns across a process boundary: the table itself (38M rows at 50m) must stay behind
    timing, columns, sums = baselines._pandas_listens_side(listens_file, [("test", 999)], baselines.ListenVars())
    assert timing.value is None and "listen_events" in columns and sums["rows"] == 3
