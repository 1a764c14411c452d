"""Recommendations from candidates, scoring into the warehouse, CSV/HTML reports, the CLI."""

import base64
import json

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner
from eval_fixtures import random_fixture, reference_metrics, write_warehouse

from recsys.cli import main
from recsys.config import Settings
from recsys.errors import ConfigError, WarehouseError
from recsys.evaluation.runner import compute_metrics
from recsys.evaluation.scoring import score_and_report
from recsys.pipeline_config import load_config
from recsys.tables import recommendations_from_candidates, write_recommendations

KEYS = ["fold", "target", "model", "convention", "subset", "metric", "k"]


@pytest.fixture
def warehouse(tmp_path):
    """The random fixture with two models named like registered generators (the typed config
    accepts only those in candidates.models)."""
    fixture = random_fixture(seed=7, models=("mostpop", "random"))
    return write_warehouse(tmp_path / "wh.duckdb", **fixture), fixture


def small_config(**evaluation):
    config = load_config()
    config["evaluation"].update({"ks": [1, 5], "top_k": 10, "bootstrap_samples": 50,
                                 "diversity_ks": [5], **evaluation})
    config["candidates"]["models"] = ["random", "mostpop"]
    return config


def test_write_recommendations_keeps_top_k_of_ranked_users_and_replaces_the_slice(warehouse):
    path, _ = warehouse
    con = duckdb.connect(str(path))
    con.execute("""create table candidates as select * from (values
        ('test', 'like', 'x', 1::uinteger, 1, 7::uinteger, 0.9::double),
        ('test', 'like', 'x', 1, 2, 3, 0.5), ('test', 'like', 'x', 1, 3, 4, 0.5),
        ('test', 'like', 'x', 999999, 1, 7, 0.9), ('test', 'like', 'x', 1001, 1, 5, 0.9),
        ('val', 'like', 'x', 1, 1, 8, 0.9)) t(fold, target, model, uid, rank, item_id, score)""")
    con.execute("delete from train_interactions where fold = 'test' and target = 'like' and uid in (1, 1001)")
    con.execute("insert into train_interactions values ('test', 'like', 1, 1, 1), "
                "('test', 'like', 1001, 1, 2)")
    top = lambda k: recommendations_from_candidates("test", "like", "x", k)  # noqa: E731
    assert write_recommendations(con, top(2), "test", "like", "x") == 3
    rows = con.execute("select uid, item_id, rank from recommendations where model = 'x' "
                       "order by uid, rank").fetchall()
    # user 999999 has no target-type history; 1001 has history but no targets (ranked); rank 3 cut
    assert rows == [(1, 7, 1), (1, 3, 2), (1001, 5, 1)]
    assert write_recommendations(con, top(1), "test", "like", "x") == 2
    assert con.execute("select count(*) from recommendations where model = 'x'").fetchone()[0] == 2
    con.close()


def test_compute_metrics_writes_both_tables_per_fold(warehouse):
    path, fixture = warehouse
    con = duckdb.connect(str(path))
    run = compute_metrics(con, ks=[1, 5], folds=["test"], conventions=["standard", "paper", "official"])
    expected = pd.concat([reference_metrics(fixture, [1, 5], convention=c)
                          for c in ("standard", "paper", "official")])
    expected = expected[expected["fold"] == "test"]
    merged = run.metrics.merge(expected, on=KEYS, suffixes=("", "_py"))
    assert len(merged) == len(expected) == len(run.metrics)
    assert (merged["value"] - merged["value_py"]).abs().max() < 1e-9
    per_user = con.execute("select count(*), count(distinct fold) from metrics_per_user").fetchone()
    assert per_user[0] > 0 and per_user[1] == 1
    compute_metrics(con, ks=[1, 5], folds=["test"], conventions=["standard", "paper", "official"])  # rerun replaces
    assert con.execute("select count(*) from metrics").fetchone()[0] == len(run.metrics)
    con.close()


def test_broken_recommendations_are_refused(warehouse):
    path, _ = warehouse
    con = duckdb.connect(str(path))
    con.execute("insert into recommendations select * from recommendations limit 1")
    with pytest.raises(WarehouseError, match="repeat an item"):
        compute_metrics(con, ks=[5])
    con.close()


def test_score_and_report_writes_csv_and_self_contained_html(warehouse, tmp_path):
    path, fixture = warehouse
    settings = Settings(warehouse=path, reports_dir=tmp_path / "reports", temp_dir=tmp_path / "t")
    result = score_and_report(settings, small_config(), fold="test", progress=False)
    csv = pd.read_csv(result.metrics_csv)
    assert list(csv.columns) == ["fold", "target", "model", "convention", "subset", "metric", "k",
                                 "value", "users", "ci_low", "ci_high"]
    assert set(csv["subset"]) == {"all", "organic", "recommendation", "repeat", "discovery"}
    assert set(csv["convention"]) == {"standard", "paper", "official"}
    assert {"ndcg", "recall", "coverage", "novelty", "popularity_bias", "diversity"} <= set(csv["metric"])
    ndcg = csv[(csv.metric == "ndcg")]
    assert ((ndcg.ci_low <= ndcg.value + 1e-12) & (ndcg.value <= ndcg.ci_high + 1e-12)).all()
    expected = pd.concat([reference_metrics(fixture, [1, 5], convention=c)
                          for c in ("standard", "paper", "official")]).query("fold == 'test'")
    merged = csv.merge(expected, on=KEYS, suffixes=("", "_py"))
    assert len(merged) == len(expected)
    assert (merged["value"] - merged["value_py"]).abs().max() < 1e-9
    html = result.report_html.read_text()
    images = html.count("data:image/png;base64,")
    assert images >= 6
    first = html.split("data:image/png;base64,")[1].split('"')[0]
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Organic vs recommendation-driven" in html and "Paired tests" in html
    assert ".read sql/metrics/accuracy.sql" in html
    assert result.table.splitlines()[0].startswith("test fold, standard convention")
    assert result.table.splitlines()[4].startswith("random ")  # the config's model order
    assert not list(result.report_html.parent.glob(".*"))  # no temporary files left


def test_cut_offs_above_top_k_are_a_config_error(warehouse, tmp_path):
    path, _ = warehouse
    settings = Settings(warehouse=path, reports_dir=tmp_path / "r", temp_dir=tmp_path / "t")
    with pytest.raises(ConfigError, match="top_k"):
        score_and_report(settings, small_config(ks=[10, 100], top_k=50), progress=False)


def test_cli_metrics_prints_the_table(warehouse, tmp_path, monkeypatch):
    path, _ = warehouse
    monkeypatch.setenv("RECSYS_TEMP_DIR", str(tmp_path / "t"))
    config = tmp_path / "c.yml"
    config.write_text("evaluation: {ks: [1, 5], top_k: 10, bootstrap_samples: 20, diversity_ks: [5]}\n")
    result = CliRunner().invoke(main, ["metrics", "--warehouse", str(path), "--config", str(config),
                                       "--reports-dir", str(tmp_path / "rep"), "--quiet",
                                       "--models", "mostpop"])
    assert result.exit_code == 0, result.output
    assert "NDCG@1" in result.output and "Coverage@5" in result.output
    assert (tmp_path / "rep" / "report.html").exists()
    missing = CliRunner().invoke(main, ["metrics", "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


def test_cli_headline_reads_the_reports(tmp_path):
    rows = []
    for model, value in (("history", 0.20), ("itemknn", 0.05), ("two_stage", 0.25)):
        for metric, k in (("ndcg", 10), ("recall", 100)):
            rows.append({"fold": "test", "target": "listen_plus", "model": model,
                         "convention": "standard", "subset": "all", "metric": metric, "k": k,
                         "value": value, "users": 40, "ci_low": value - 0.02, "ci_high": value + 0.02})
    pd.DataFrame(rows).to_csv(tmp_path / "metrics.csv", index=False)
    pd.DataFrame([{"fold": "test", "target": "listen_plus", "convention": "standard",
                   "subset": "all", "metric": "ndcg", "k": 10, "model": "history",
                   "best_model": "two_stage", "p_wilcoxon": 0.004, "p_ttest": 0.03}]
                 ).to_csv(tmp_path / "paired_tests.csv", index=False)
    result = CliRunner().invoke(main, ["headline", "--reports-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert ("| listen_plus (40 users) | ndcg@10 | two_stage 0.2500 [0.230, 0.270] | history 0.2000 "
            "[0.180, 0.220] | +0.0500 | 0.004 | 0.03 |") in result.output
    # the run chose the ranker on untuned candidates on val: it is the headline, and the tuned
    # one is no baseline
    untuned = [{**r, "model": "two_stage_untuned", "value": 0.3} for r in rows
               if r["model"] == "two_stage"]
    pd.DataFrame(rows + untuned).to_csv(tmp_path / "metrics.csv", index=False)
    (tmp_path / "run_manifest.json").write_text(json.dumps({"two_stage": {
        "models": ["two_stage", "two_stage_untuned"], "headline": {"listen_plus": "two_stage_untuned"}}}))
    chosen = CliRunner().invoke(main, ["headline", "--reports-dir", str(tmp_path)])
    assert "| ndcg@10 | two_stage_untuned 0.3000 [0.230, 0.270] | history 0.2000" in chosen.output
    forced = CliRunner().invoke(main, ["headline", "--reports-dir", str(tmp_path),
                                       "--two-stage-model", "two_stage"])
    assert "| ndcg@10 | two_stage 0.2500 [0.230, 0.270] | history 0.2000" in forced.output
    missing = CliRunner().invoke(main, ["headline", "--reports-dir", str(tmp_path / "none")])
    assert missing.exit_code == 1 and "run `recsys evaluate` first" in missing.output
