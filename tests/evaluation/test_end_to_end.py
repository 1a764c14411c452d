"""On generated data: dbt build -> mostpop -> recommendations -> SQL metrics, checked against an
independent computation straight from the raw parquet files (pandas + the Python reference)."""

import pandas as pd
import pytest

from recsys.config import Settings
from recsys.evaluation import reference as ref
from recsys.pipeline_config import load_config

pytestmark = pytest.mark.slow

HISTORY_END, TARGET_START = 25_911_800, 25_913_600  # the test fold (YAMBDA.md)



@pytest.fixture(scope="module")
def evaluated(tiny_dataset, tmp_path_factory):
    from recsys.dbt_runner import build
    from recsys.evaluation.pipeline import run_evaluate

    work = tmp_path_factory.mktemp("e2e")
    settings = Settings(data_dir=tiny_dataset, size="tiny", warehouse=work / "wh.duckdb",
                        reports_dir=work / "reports", memory_limit="2GB", threads=2,
                        temp_dir=work / "tmp")
    build(settings, target_path=work / "dbt_target", log_path=work / "dbt_logs")
    config = load_config()
    config["candidates"]["models"] = ["mostpop"]
    config["evaluation"]["bootstrap_samples"] = 50
    result = run_evaluate(settings, config, fold="test", two_stage=False, progress=False)
    return result, tiny_dataset


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
    result, root = evaluated
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
