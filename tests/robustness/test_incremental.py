"""Incremental reruns: ``recsys evaluate`` again with nothing changed fits no generator (and no
seed repeat), gives the same numbers and, with the same reports, writes none; a change of one
generator's parameter refits that generator's slices and repeats only."""

from __future__ import annotations

import pandas as pd
import pytest
from robust_fixtures import copy_settings, robust_config

pytestmark = pytest.mark.slow


def test_a_rerun_fits_only_the_generators_whose_inputs_changed(evaluated, tmp_path, monkeypatch):
    import recsys.pipeline as pipeline

    settings = copy_settings(evaluated[0], tmp_path / "w")
    before = pd.read_csv(settings.reports_dir / "metrics.csv")
    fitted: list[list[tuple[str, str, str]]] = []
    real = pipeline.run_candidates

    def spy(*args, **kwargs):
        fitted.append(sorted(kwargs["slices"]))
        return real(*args, **kwargs)

    repeated: list[tuple[str, str, list[int]]] = []
    real_repeats = pipeline.run_seed_repeats

    def spy_repeats(*args, **kwargs):
        repeated.append((kwargs["targets"][0], kwargs["models"][0], list(kwargs["seeds"])))
        return real_repeats(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_candidates", spy)
    monkeypatch.setattr(pipeline, "run_seed_repeats", spy_repeats)
    again = pipeline.run_evaluate(settings, robust_config(), two_stage=False, progress=False)
    assert fitted == [] and repeated == []  # nothing changed: every test slice reused
    assert any(n.startswith("reused 6 of 6 (target, generator) slices of test") for n in again.notes)
    after = pd.read_csv(settings.reports_dir / "metrics.csv")
    keys = ["fold", "target", "model", "convention", "subset", "metric", "k", "users"]
    assert after[keys].equals(before[keys])
    for column in ("value", "ci_low", "ci_high"):
        pd.testing.assert_series_equal(after[column], before[column], rtol=0, atol=1e-12)
    assert not again.reused  # the copy's report names another warehouse: written again

    written = {p.name: p.stat().st_mtime_ns for p in settings.reports_dir.iterdir() if p.is_file()}
    third = pipeline.run_evaluate(settings, robust_config(), two_stage=False, progress=False)
    assert third.reused and fitted == []  # the same inputs: no metric, no report written
    assert {p.name: p.stat().st_mtime_ns for p in settings.reports_dir.iterdir()
            if p.is_file()} == written
    assert third.headline.empty  # no two-stage model in this run: no headline rows
    less = robust_config()
    less["evaluation"]["bootstrap_samples"] = 10  # a config key of the scoring: scored again
    assert not pipeline.run_evaluate(settings, less, two_stage=False, progress=False).reused
    assert fitted == []

    config = robust_config()
    config["candidates"]["params"] = {"ials": {"factors": 16}}
    pipeline.run_evaluate(settings, config, two_stage=False, progress=False)
    assert fitted == [[("test", "like", "ials"), ("test", "listen_plus", "ials")]]
    assert sorted(repeated) == [("like", "ials", [41, 43]), ("listen_plus", "ials", [41, 43])]


def test_a_rerun_keeps_the_rankers_trained_on_the_same_inputs(two_stage_evaluated, tmp_path,
                                                            monkeypatch):
    import recsys.ranking.ranker as ranker

    settings = copy_settings(two_stage_evaluated, tmp_path / "w")
    saved = {p.name: p.stat().st_mtime_ns for p in (settings.reports_dir / "ranker").iterdir()}
    trained: list[str] = []
    real_fit = ranker.LightGBMRanker.fit

    def spy_fit(self, *args, **kwargs):
        trained.append("fit")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(ranker.LightGBMRanker, "fit", spy_fit)
    from recsys.pipeline import run_evaluate

    again = run_evaluate(settings, robust_config(), fold="test", two_stage=True, progress=False)
    assert trained == []
    assert "two_stage: the rankers and test lists of listen_plus, like reused (trained and ranked " \
        "on the same candidates and features)" in again.notes
    assert {p.name: p.stat().st_mtime_ns for p in (settings.reports_dir / "ranker").iterdir()} == saved
    config = robust_config()
    config["ranker"]["num_boost_round"] = 20  # a ranker setting: every ranker learns again,
    run_evaluate(settings, config, fold="test", two_stage=True, progress=False)
    assert trained == ["fit"] * 4  # on tuned and on untuned candidates, for both targets
