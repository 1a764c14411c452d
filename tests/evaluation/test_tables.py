"""The paper-style table, the CSV layout, model order and the shell command line."""

import pandas as pd

from recsys.evaluation.sql import shell_command
from recsys.evaluation.tables import csv_frame, paper_table
from recsys.evaluation.uncertainty import ordered_models


def metrics_rows():
    rows = []
    for target in ("listen_plus", "like"):
        for model, base in (("mostpop", 0.01), ("itemknn", 0.1)):
            for metric in ("ndcg", "recall", "coverage"):
                for k in (10, 100):
                    rows.append(("test", target, model, "all", metric, k, base * k / 10, 50))
    return pd.DataFrame(rows, columns=["fold", "target", "model", "subset", "metric", "k", "value", "users"])


def test_paper_table_has_one_row_per_model_and_six_columns_per_target():
    text = paper_table(metrics_rows(), fold="test", targets=["listen_plus", "like"], ks=[10, 100],
                       models=["mostpop", "itemknn", "two_stage"], users={"like": 50})
    lines = text.splitlines()
    assert lines[0] == "test fold"
    assert "like (50 users)" in lines[1]
    labels = lines[2].split()
    assert labels.count("NDCG@10") == 2 and labels.count("Coverage@100") == 2 and len(labels) == 15
    mostpop = lines[4].split()
    assert mostpop[0] == "mostpop" and mostpop[2:8] == ["0.0100", "0.1000"] * 3
    assert lines[6].split()[0] == "two_stage" and lines[6].count("-") == 12  # no rows: dashes


def test_csv_frame_has_the_long_layout_with_empty_intervals():
    frame = csv_frame(metrics_rows())
    assert list(frame.columns) == ["fold", "target", "model", "subset", "metric", "k", "value",
                                   "users", "ci_low", "ci_high"]
    assert frame["ci_low"].isna().all() and len(frame) == 24
    assert frame.iloc[0]["target"] == "like" and frame.iloc[0]["model"] == "itemknn"


def test_models_follow_the_config_order_then_names():
    assert ordered_models(["zz", "itemknn", "mostpop", "aa"], ["mostpop", "itemknn"]) == \
        ["mostpop", "itemknn", "aa", "zz"]


def test_shell_command_quotes_values():
    command = shell_command("w.duckdb", "accuracy", {"ks": [10, 100], "fold": "te'st",
                                                     "yambda_official": True, "per_user": None})
    assert command == (""".venv/bin/duckdb -readonly w.duckdb -c "SET VARIABLE ks = [10, 100]" """
                       """-c "SET VARIABLE fold = 'te''st'" -c "SET VARIABLE yambda_official = true" """
                       """-c ".read sql/metrics/accuracy.sql\"""")
