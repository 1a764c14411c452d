"""The paper-style tables, the paper's values beside ours, the headline, the CSV layout, model
order and the shell command line."""

import pandas as pd
import pytest

from recsys.evaluation.paper import paper_values
from recsys.evaluation.sql import shell_command
from recsys.evaluation.tables import (
    csv_frame,
    headline_markdown,
    headline_table,
    paper_table,
    subset_table,
)
from recsys.evaluation.uncertainty import ordered_models

COLUMNS = ["fold", "target", "model", "convention", "subset", "metric", "k", "value", "users"]


def metrics_rows(conventions=("standard",)):
    rows = []
    for convention in conventions:
        for target in ("listen_plus", "like"):
            for model, base in (("mostpop", 0.01), ("itemknn", 0.1)):
                for metric in ("ndcg", "recall", "coverage"):
                    for k in (10, 100):
                        rows.append(("test", target, model, convention, "all", metric, k,
                                     base * k / 10, 50))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_paper_table_has_one_row_per_model_and_six_columns_per_target():
    text = paper_table(metrics_rows(), fold="test", targets=["listen_plus", "like"], ks=[10, 100],
                       models=["mostpop", "itemknn", "two_stage"], users={"like": 50})
    lines = text.splitlines()
    assert lines[0].startswith("test fold, standard convention")
    assert "like (50 users)" in lines[1]
    labels = lines[2].split()
    assert labels.count("NDCG@10") == 2 and labels.count("Coverage@100") == 2 and len(labels) == 15
    mostpop = lines[4].split()
    assert mostpop[0] == "mostpop" and mostpop[2:8] == ["0.0100", "0.1000"] * 3
    assert lines[6].split()[0] == "two_stage" and lines[6].count("-") == 12  # no rows: dashes


def test_paper_convention_shows_the_paper_value_and_the_ratio():
    paper = paper_values("50m")
    text = paper_table(metrics_rows(("paper",)), fold="test", targets=["listen_plus"], ks=[10],
                       models=["mostpop", "two_stage"], convention="paper", paper=paper)
    lines = text.splitlines()
    assert lines[0].startswith("test fold, paper convention")
    ours, theirs, ratio = lines[4].split(), lines[5].split(), lines[6].split()
    assert ours == ["mostpop", "|", "0.0100", "0.0100", "0.0100"]
    # MostPop Listen+ on 50m: NDCG@10 0.0186, Recall@10 0.0064, Coverage@10 0.0000 (Table 6)
    assert theirs == ["paper", "|", "0.0186", "0.0064", "0.0000"]
    assert ratio == ["ours/paper", "|", f"{0.01 / 0.0186:.2f}x", f"{0.01 / 0.0064:.2f}x", "-"]
    assert lines[7].split()[0] == "two_stage" and len(lines) == 8  # not in the paper: one line


def test_subset_table_has_a_block_per_present_subset():
    rows = metrics_rows()
    rows = pd.concat([rows.assign(subset=s, users=u, value=rows["value"] * f) for s, u, f in
                      (("all", 50, 1), ("discovery", 20, 0.5), ("repeat", 40, 2))])
    text = subset_table(rows, fold="test", target="like", ks=[10], models=["mostpop", "itemknn"])
    lines = text.splitlines()
    assert lines[0] == "like, test fold, standard convention: target subsets"
    # all, repeat, discovery in that order; organic and recommendation absent
    assert [t.strip() for t in lines[1].split("|")[1:]] == [
        "all (50 users)", "repeat (40 users)", "discovery (20 users)"]
    assert [len(b) for b in lines[1].split("|")[1:-1]] == [len(b) for b in lines[2].split("|")[1:-1]]
    assert lines[2].split().count("NDCG@10") == 3 and lines[2].split().count("Recall@10") == 3
    assert lines[4].split() == ["mostpop", "|", "0.0100", "0.0100", "|", "0.0200", "0.0200", "|",
                                "0.0050", "0.0050"]


def test_official_ndcg_is_labelled_hitrate():
    text = paper_table(metrics_rows(("official",)), fold="test", targets=["like"], ks=[10],
                       models=["mostpop"], convention="official")
    assert "NDCG@10 (=HitRate)" in text


def test_headline_compares_two_stage_with_the_best_tuned_baseline():
    rows = metrics_rows()
    rows = pd.concat([rows, rows[rows["model"] == "itemknn"].assign(
        model="two_stage", value=lambda f: f["value"] * 1.5)])
    rows["ci_low"], rows["ci_high"] = rows["value"] - 0.01, rows["value"] + 0.01
    tests = pd.DataFrame([{"fold": "test", "target": "like", "convention": "standard",
                           "subset": "all", "metric": "ndcg", "k": 10, "model": "itemknn",
                           "best_model": "two_stage", "p_wilcoxon": 0.003, "p_ttest": 0.01}])
    frame = headline_table(rows, tests, fold="test", target="like", baselines=["mostpop", "itemknn"])
    assert list(frame["metric"]) == ["ndcg", "recall"]
    assert set(frame["baseline"]) == {"itemknn"}  # the best by NDCG@10
    assert frame["diff"].iloc[0] == pytest.approx(0.05)
    assert frame["p_wilcoxon"].iloc[0] == 0.003 and pd.isna(frame["p_wilcoxon"].iloc[1])
    # on a segment: that subset's rows, its best baseline and its tests
    segment = rows[rows["subset"] == "all"].assign(subset="discovery")
    segment.loc[segment["model"] == "mostpop", "value"] = 9.0  # the best single model there
    seg_tests = tests.assign(subset="discovery", model="mostpop", p_wilcoxon=0.2)
    seg = headline_table(pd.concat([rows, segment]), pd.concat([tests, seg_tests]), fold="test",
                         target="like", baselines=["mostpop", "itemknn"], subset="discovery")
    assert set(seg["baseline"]) == {"mostpop"} and set(seg["subset"]) == {"discovery"}
    assert seg["p_wilcoxon"].iloc[0] == 0.2
    markdown = headline_markdown(frame)
    assert "| like (50 users) | ndcg@10 | two_stage 0.1500 [0.140, 0.160] | itemknn 0.1000" in markdown


def test_csv_frame_has_the_long_layout_with_empty_intervals():
    frame = csv_frame(metrics_rows())
    assert list(frame.columns) == ["fold", "target", "model", "convention", "subset", "metric", "k",
                                   "value", "users", "ci_low", "ci_high"]
    assert frame["ci_low"].isna().all() and len(frame) == 24
    assert frame.iloc[0]["target"] == "like" and frame.iloc[0]["model"] == "itemknn"


def test_models_follow_the_config_order_then_names():
    assert ordered_models(["zz", "itemknn", "mostpop", "aa"], ["mostpop", "itemknn"]) == \
        ["mostpop", "itemknn", "aa", "zz"]


def test_shell_command_quotes_values():
    command = shell_command("w.duckdb", "accuracy", {"ks": [10, 100], "fold": "te'st",
                                                     "convention": "paper", "per_user": None})
    assert command == (""".venv/bin/duckdb -readonly w.duckdb -c "SET VARIABLE ks = [10, 100]" """
                       """-c "SET VARIABLE fold = 'te''st'" -c "SET VARIABLE convention = 'paper'" """
                       """-c ".read sql/metrics/accuracy.sql\"""")
