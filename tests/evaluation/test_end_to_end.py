"""On generated data: dbt build -> mostpop -> recommendations -> SQL metrics, checked against an
independent computation straight from the raw parquet files (pandas + the Python reference)."""

import shutil

import pandas as pd
import pytest

from recsys.evaluation import reference as ref
from recsys.pipeline_config import load_config

pytestmark = pytest.mark.slow

HISTORY_END, TARGET_START = 25_911_800, 25_913_600  # the test fold (YAMBDA.md)



@pytest.fixture(scope="module")
def evaluated(tiny_dataset, tiny_warehouse, tmp_path_factory):
    from recsys.pipeline import run_evaluate

    work = tmp_path_factory.mktemp("e2e")
    shutil.copyfile(tiny_warehouse.warehouse, work / tiny_warehouse.warehouse.name)
    settings = tiny_warehouse.with_(warehouse=work / tiny_warehouse.warehouse.name,
                                    reports_dir=work / "reports", temp_dir=work / "tmp")
    config = load_config()
    config["candidates"]["models"] = ["mostpop", "bpr"]
    config["candidates"]["params"] = {"bpr": {"factors": 8, "iterations": 5}}
    config["candidates"]["tuning"]["trials"] = 1
    config["evaluation"]["bootstrap_samples"] = 50
    config["evaluation"]["seed_runs"] = {"models": ["bpr"], "seeds": [41, 42, 43]}
    result = run_evaluate(settings, config, fold="test", two_stage=False, progress=False)
    return result, tiny_dataset, settings, config


def from_parquet(root, top_k=100):
    flat = root / "flat" / "tiny"
    listens = pd.read_parquet(flat / "listens.parquet")
    listen_plus = listens[listens["played_ratio_pct"] >= 50]
    history = listen_plus[listen_plus["timestamp"] < HISTORY_END]
    targets = listen_plus[listen_plus["timestamp"] >= TARGET_START]
    counts = history.groupby("item_id").size().reset_index(name="n")
    top = counts.sort_values(["n", "item_id"], ascending=[False, True])["item_id"].head(top_k).tolist()
    users = set(history["uid"]) & set(targets["uid"])
    per_user = targets[targets["uid"].isin(users)].groupby("uid")["item_id"].apply(set)
    events = targets[targets["uid"].isin(users)].groupby("uid")["item_id"].apply(list)
    catalogue = set(history["item_id"])  # the items with a Listen+ event in the history
    out = {}
    for k in (10, 100):
        out[("standard", "ndcg", k)] = sum(ref.ndcg(top, t, k) for t in per_user) / len(per_user)
        out[("standard", "recall", k)] = sum(ref.recall(top, t, k) for t in per_user) / len(per_user)
        out[("paper", "ndcg", k)] = ref.paper_ndcg([(top, e) for e in events], k)
        out[("paper", "recall", k)] = sum(
            ref.recall(top, set(e), k, len(e)) for e in events) / len(events)
        out[("official", "ndcg", k)] = sum(ref.official_ndcg(top, set(e), k) for e in events) / len(events)
        out[("official", "recall", k)] = sum(
            ref.recall(top, set(e), k, len(e), capped=True) for e in events) / len(events)
        for convention in ("standard", "paper", "official"):
            out[(convention, "coverage", k)] = len(top[:k]) / len(catalogue)
    return out, len(per_user), len(set(history["uid"]))


def test_mostpop_metrics_equal_an_independent_computation_from_parquet(evaluated):
    result, root, *_ = evaluated
    expected, n_users, n_ranked = from_parquet(root)
    rows = result.metrics[(result.metrics["model"] == "mostpop") & (result.metrics["subset"] == "all")
                          & (result.metrics["target"] == "listen_plus")].set_index(
                              ["convention", "metric", "k"])
    assert 0 < n_users < n_ranked
    for key, value in expected.items():
        assert rows.loc[key, "value"] == pytest.approx(value, abs=1e-9), key
        counted = n_ranked if key[1] == "coverage" and key[0] != "standard" else n_users
        assert rows.loc[key, "users"] == counted, key
    assert "mostpop" in result.table and result.report_html.exists()


def test_seed_repeats_are_refits_scored_by_the_same_sql_and_averaged(evaluated):
    """evaluation.seed_runs: bpr is refitted with seeds 41 and 43 (its own row is seed 42); the
    seed table's mean is the mean of the three SQL values, and the repeats stay out of the main
    tables and tests."""
    import duckdb
    import numpy as np

    from recsys.candidates.registry import make_generator
    from recsys.candidates.runner import fold_data_loader
    from recsys.candidates.store import ranked_users
    from recsys.candidates.tuned import data_hash, resolve_params

    result, _, settings, config = evaluated
    assert set(result.metrics["model"]) == {"mostpop", "bpr"}
    assert "bpr@seed41" not in set(result.tests.get("model", []))
    seeds = pd.read_csv(result.metrics_csv.parent / "seed_metrics.csv")
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    per_model = con.execute("""
        select model, value from metrics where fold = 'test' and target = 'listen_plus'
          and convention = 'standard' and subset = 'all' and metric = 'ndcg' and k = 10
          and model in ('bpr', 'bpr@seed41', 'bpr@seed43') order by model""").fetchall()
    assert [m for m, _ in per_model] == ["bpr", "bpr@seed41", "bpr@seed43"]
    row = seeds.query("target == 'listen_plus' and convention == 'standard' and subset == 'all' "
                      "and metric == 'ndcg' and k == 10").iloc[0]
    values = [v for _, v in per_model]
    assert row["model"] == "bpr" and row["seeds"] == 3
    assert row["mean"] == pytest.approx(np.mean(values))
    assert row["std"] == pytest.approx(np.std(values, ddof=1))
    assert len(set(values)) > 1  # the seeds give different fits
    # the seed-41 repeat is what a fit with seed 41 and the same parameters recommends
    data = fold_data_loader(con, config, ["bpr"], "listen_plus")("test")
    params = resolve_params(con, config, "listen_plus", "bpr", data_hash(settings))
    users = ranked_users(con, "test", "listen_plus")
    expected = make_generator("bpr", seed=41, params=params).fit(data).recommend(users, 100)
    got = con.execute("select uid, item_id from recommendations where fold = 'test' and "
                      "target = 'listen_plus' and model = 'bpr@seed41' order by uid, rank").fetchnumpy()
    con.close()
    np.testing.assert_array_equal(got["uid"], expected.uid)
    np.testing.assert_array_equal(got["item_id"], expected.item_id)
    assert "3-seed mean" in result.table


def test_the_next_song_task_is_scored_and_reported_beside_the_benchmark(evaluated):
    from recsys.evaluation.next_song import KS, MODELS

    result, _, settings, _ = evaluated
    table = pd.read_csv(settings.reports_dir / "next_song.csv")
    assert sorted(table["model"].unique()) == sorted(MODELS)
    assert set(table["k"]) == set(KS) and (table["sessions"] > 0).all()
    assert set(table["metric"]) == {"hitrate", "mrr", "ndcg"}
    assert "<h2>Next song</h2>" in result.report_html.read_text()
