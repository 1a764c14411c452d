"""ranker.compare_untuned: the ranker on tuned and on untuned candidates, chosen on val users
held out by both."""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from ranking_fixtures import N_USERS, build_warehouse, mark_candidates_fresh

from recsys.config import Settings
from recsys.evaluation.report_sections import two_stage_choice_html
from recsys.evaluation.two_stage import choice_frame, choose
from recsys.pipeline import run_two_stage
from recsys.pipeline_config import parse_config
from recsys.ranking.dataset import RankingFrame
from recsys.ranking.training import QueryPlan, heldout_metrics, plan_queries
from recsys.sections.ranker import ranker_config


def test_heldout_ndcg_by_hand(tmp_path):
    con = duckdb.connect()
    # user 1 has three targets (items 1, 2, 3), user 2 one (item 9), user 3 one but no candidate
    con.execute("create table eval_targets as select * from (values ('val', 'listen_plus', 1, 1), "
                "('val', 'listen_plus', 1, 2), ('val', 'listen_plus', 1, 3), "
                "('val', 'listen_plus', 2, 9), ('val', 'listen_plus', 3, 5)) t(fold, target, uid, item_id)")
    con.execute("alter table eval_targets add column is_repeat utinyint default 1")
    frame = RankingFrame(
        uids=np.array([1, 1, 1, 2, 2], dtype=np.uint32),
        item_ids=np.array([1, 4, 7, 8, 9], dtype=np.uint32),
        features=np.zeros((5, 1), dtype=np.float32), labels=np.array([1, 0, 0, 0, 1], np.uint8),
        feature_names=["f"], folds=np.zeros(5, dtype=np.uint8))
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.7])  # user 2: a tie, broken by item id (8 first)
    plan = QueryPlan(("val",), {}, {"val": np.array([1, 2])}, 2,
                     heldout={"val": np.array([1, 2, 3])})
    # user 1: target at rank 3 of an ideal of three -> (1/2) / (1 + 1/log2(3) + 1/2)
    # user 2: target at rank 2 of an ideal of one -> 1/log2(3); user 3: 0
    user1 = 0.5 / (1 + 1 / np.log2(3) + 0.5)
    user2 = 1 / np.log2(3)
    assert heldout_metrics(con, "listen_plus", plan, frame, scores)["ndcg@10"] == \
        pytest.approx((user1 + user2) / 3)
    assert heldout_metrics(con, "listen_plus", plan, frame, scores, k=2, recall_k=2)["ndcg@2"] == \
        pytest.approx(user2 / 3)


def test_held_out_users_do_not_depend_on_the_candidates():
    cfg = ranker_config({"ranker": {"valid_share": 0.3, "seed": 5}})
    served = {"val": np.arange(1, 101, dtype=np.uint32)}
    few = plan_queries({"val": np.arange(1, 30, dtype=np.uint32)}, cfg, served)
    many = plan_queries({"val": np.arange(1, 90, dtype=np.uint32)}, cfg, served)
    assert np.array_equal(few.heldout["val"], many.heldout["val"]) and len(few.heldout["val"]) == 30
    # the early-stopping queries are the held-out users with a positive candidate
    assert np.array_equal(few.valid["val"], few.heldout["val"][few.heldout["val"] < 30])
    assert not set(few.train["val"]) & set(few.heldout["val"])


def _runs(rows):
    return pd.DataFrame([{"target": t, "model": m, "params": json.dumps({"val_ndcg@10": v})}
                         for t, m, v in rows])


def test_the_headline_is_the_higher_val_score_ties_to_the_tuned_candidates():
    names = ["two_stage", "two_stage_untuned"]
    runs = _runs([("listen_plus", "two_stage", 0.20), ("listen_plus", "two_stage_untuned", 0.25),
                  ("like", "two_stage", 0.10), ("like", "two_stage_untuned", 0.10)])
    assert choose(runs, names, ["listen_plus", "like"]) == {"listen_plus": "two_stage_untuned",
                                                            "like": "two_stage"}
    assert choose(runs.iloc[:0], names, ["like"]) == {"like": "two_stage"}  # nothing recorded
    metrics = pd.DataFrame([
        {"fold": "test", "target": "like", "convention": "standard", "subset": "all",
         "model": m, "metric": metric, "k": k, "value": v}
        for m, metric, k, v in [("two_stage", "ndcg", 10, 0.3), ("two_stage", "recall", 100, 0.6),
                                ("two_stage_untuned", "ndcg", 10, 0.4),
                                ("two_stage_untuned", "recall", 100, 0.5)]])
    frame = choice_frame(runs, metrics, names, {"like": "two_stage"}, "test")
    assert frame[["model", "val_ndcg@10", "ndcg@10", "recall@100", "chosen"]].values.tolist() == [
        ["two_stage", 0.10, 0.3, 0.6, True], ["two_stage_untuned", 0.10, 0.4, 0.5, False]]
    one = metrics[metrics["model"] == "two_stage"]
    assert choice_frame(runs, one, names, {"like": "two_stage"}, "test").empty
    html = two_stage_choice_html(frame)
    assert ("<td class='name'>two_stage_untuned</td><td class='name'>untuned generators (code "
            "defaults)</td><td>0.1000</td><td>0.4000</td><td>0.5000</td><td class='name'></td>") in html
    assert "<td>0.1000</td><td>0.3000</td><td>0.6000</td><td class='name'>headline</td>" in html


@pytest.fixture
def untuned_settings(tmp_path, config):
    config["ranker"]["compare_untuned"] = True
    warehouse = build_warehouse(tmp_path / "u.duckdb", untuned=True)
    out = Settings(warehouse=warehouse, reports_dir=tmp_path / "reports", temp_dir=tmp_path / "tmp",
                   memory_limit="1GB", threads=1)
    mark_candidates_fresh(out, config)
    return out


def test_two_rankers_each_on_its_own_candidates(untuned_settings, config):
    config["ranker"]["compare_untuned"] = True
    parsed = parse_config(config)
    assert parsed.two_stage_names == ["two_stage", "two_stage_untuned"]
    assert parsed.untuned_ranker.merged_models == ["mostpop", "history_untuned"]
    summary = run_two_stage(untuned_settings, config, fold="test", targets=("listen_plus",),
                            progress=False)
    assert summary["inputs"] == {"candidates_generated": [], "features_rebuilt": False}
    tuned = summary["compared"]["two_stage"]["train"]["listen_plus"]
    untuned = summary["compared"]["two_stage_untuned"]["train"]["listen_plus"]
    assert tuned["models"] == ["mostpop", "history"]
    assert untuned["models"] == ["mostpop", "history_untuned"]
    # neither ranker reads the other's generator columns
    assert not any("untuned" in f for f in tuned["feature_importance"])
    assert not {"rank_history", "score_history"} & set(untuned["feature_importance"])
    # the same held-out users: 20% of the 30 evaluated ones, each scored against all its targets
    assert tuned["valid_queries"] == untuned["valid_queries"] == {"val": round(0.2 * N_USERS)}
    assert 0 < tuned["val_ndcg@10"] <= 1 and 0 < untuned["val_ndcg@10"] <= 1
    with duckdb.connect(str(untuned_settings.warehouse), read_only=True) as con:
        written = con.execute("select model, count(*) from recommendations where fold = 'test' "
                              "group by model order by model").fetchall()
        sources = {s for (s,) in con.execute("select distinct source from candidate_recall").fetchall()}
    assert written == [("two_stage", 6 * (N_USERS + 1)), ("two_stage_untuned", 6 * (N_USERS + 1))]
    assert sources == {"mostpop", "history", "merged"}  # the headline ranker's tables only
    assert (untuned_settings.reports_dir / "ranker" / "two_stage_untuned" / "listen_plus.txt").is_file()
    # a second run reuses both rankers and both lists
    again = run_two_stage(untuned_settings, config, fold="test", targets=("listen_plus",),
                          progress=False)
    assert all(again["compared"][n][s]["listen_plus"]["reused"]
               for n in ("two_stage", "two_stage_untuned") for s in ("train", "rank"))


def test_the_two_stage_model_not_chosen_is_left_out_of_the_tests():
    from recsys.evaluation.uncertainty import with_uncertainty

    con = duckdb.connect()
    rng = np.random.default_rng(0)
    rows = [("test", "like", "standard", "all", m, "ndcg", 10, u, float(v), 1.0)
            for m, shift in (("history", 0.0), ("two_stage", 0.2), ("two_stage_untuned", 0.3))
            for u, v in enumerate(rng.random(40) * 0.5 + shift)]
    con.execute("create table metrics_per_user (fold varchar, target varchar, convention varchar, "
                "subset varchar, model varchar, metric varchar, k integer, uid integer, "
                "value double, weight double)")
    con.executemany("insert into metrics_per_user values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    metrics = con.execute("select fold, target, convention, subset, model, metric, k, avg(value) "
                          "as value, count(*) as users from metrics_per_user group by all").df()
    _, tests = with_uncertainty(con, metrics, samples=20)
    assert set(tests["best_model"]) == {"two_stage_untuned"}
    out, tests = with_uncertainty(con, metrics, samples=20,
                                  untested={("like", "two_stage_untuned")})
    assert set(tests["best_model"]) == {"two_stage"} and set(tests["model"]) == {"history"}
    assert out.set_index("model").loc["two_stage_untuned", "ci_low"] > 0  # still an interval
