"""Seed repeats: names, settings, and the mean / standard deviation over seeds by hand."""

import math

import pandas as pd
import pytest

from recsys.errors import ConfigError
from recsys.evaluation.seeds import base_model, seed_summary, variant_name
from recsys.evaluation.tables import paper_table
from recsys.pipeline_config import SeedRuns, pipeline_config
from recsys.sections.evaluation import seed_run_settings


def test_names_round_trip():
    assert variant_name("ials", 41) == "ials@seed41"
    assert base_model("ials@seed41") == "ials"
    assert base_model("ials") is None and base_model("x@seedy") is None


def config(**seed_runs):
    return {"seed": 42, "evaluation": {"seed_runs": seed_runs}}


def test_settings_and_extra_seeds():
    assert seed_run_settings(config(models=["ials"], seeds=[41, 42, 43])) == (["ials"], [41, 42, 43])
    typed = pipeline_config(overrides={"evaluation.seed_runs": {"models": ["ials"], "seeds": [41, 42, 43]}})
    assert typed.evaluation.seed_runs == SeedRuns(("ials",), (41, 42, 43))
    assert typed.extra_seeds == [41, 43]
    assert seed_run_settings(config(models=["ials"], seeds=[42])) == ([], [42])  # one seed: off
    with pytest.raises(ConfigError, match="unknown model"):
        seed_run_settings(config(models=["sasrec"], seeds=[1, 2]))
    with pytest.raises(ConfigError, match="distinct"):
        seed_run_settings(config(models=["ials"], seeds=[1, 1]))


def rows(model, value, metric="ndcg"):
    return {"fold": "test", "target": "like", "model": model, "convention": "paper",
            "subset": "all", "metric": metric, "k": 10, "value": value}


def test_summary_by_hand():
    metrics = pd.DataFrame([rows("ials", 0.2), rows("ials@seed41", 0.1), rows("ials@seed43", 0.6),
                            rows("ials@seed7", 9.0),  # not a listed seed: ignored
                            rows("mostpop", 0.5)])
    out = seed_summary(metrics, {"ials": [41, 42, 43]}, main_seed=42)
    assert len(out) == 1
    r = out.iloc[0]
    assert (r["model"], r["seeds"]) == ("ials", 3)
    assert r["mean"] == pytest.approx(0.3)
    assert r["std"] == pytest.approx(math.sqrt(((0.1) ** 2 + (0.2) ** 2 + (0.3) ** 2) / 2))
    assert r["values"] == "41:0.1000 42:0.2000 43:0.6000"


def test_paper_table_has_the_mean_line_and_the_ratio_uses_it():
    metrics = pd.DataFrame([rows("ials", 0.2), rows("ials@seed41", 0.1), rows("ials@seed43", 0.6)])
    seeds = seed_summary(metrics, {"ials": [41, 42, 43]}, main_seed=42)
    paper = pd.DataFrame([{"target": "like", "model": "ials", "metric": "ndcg", "k": 10,
                           "paper_value": 0.15}])
    text = paper_table(metrics[metrics["model"] == "ials"], fold="test", targets=["like"], ks=[10],
                       models=["ials"], convention="paper", paper=paper, seeds=seeds)
    lines = text.splitlines()
    mean_line = next(line for line in lines if line.startswith("  3-seed mean"))
    assert "0.3000" in mean_line
    assert "2.00x" in next(line for line in lines if line.startswith("  ours/paper"))  # 0.3 / 0.15
