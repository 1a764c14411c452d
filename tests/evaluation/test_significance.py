"""Bootstrap intervals and paired tests on hand-made per-user values."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from recsys.evaluation.significance import bootstrap_intervals, holm, paired_tests


def frame(values: dict[str, list[float]], metric="ndcg", k=10) -> pd.DataFrame:
    rows = [(uid, model, metric, k, v) for model, vs in values.items() for uid, v in enumerate(vs)]
    return pd.DataFrame(rows, columns=["uid", "model", "metric", "k", "value"])


def test_bootstrap_is_seeded_and_brackets_the_mean():
    rng = np.random.default_rng(0)
    data = frame({"a": rng.random(300).tolist(), "b": (rng.random(300) * 0.5).tolist()})
    first = bootstrap_intervals(data, samples=400, seed=3, key="x")
    again = bootstrap_intervals(data, samples=400, seed=3, key="x")
    other = bootstrap_intervals(data, samples=400, seed=4, key="x")
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["ci_low"], other["ci_low"])
    means = data.groupby("model")["value"].mean()
    for row in first.itertuples():
        assert row.ci_low < means[row.model] < row.ci_high
        # the normal approximation of the mean's interval: within 20% of its width
        sd = data[data.model == row.model]["value"].std(ddof=1) / np.sqrt(300)
        assert (row.ci_high - row.ci_low) == pytest.approx(2 * 1.96 * sd, rel=0.2)


def test_bootstrap_of_a_constant_is_the_constant_and_missing_values_are_skipped():
    data = frame({"a": [0.25] * 50, "b": [1.0] * 50})
    data.loc[(data.model == "b") & (data.uid < 10), "value"] = np.nan  # b has 40 users
    ci = bootstrap_intervals(data, samples=100).set_index("model")
    assert ci.loc["a", "ci_low"] == ci.loc["a", "ci_high"] == 0.25
    assert ci.loc["b", "ci_low"] == ci.loc["b", "ci_high"] == 1.0


def test_paired_tests_compare_each_model_with_the_best_like_scipy():
    rng = np.random.default_rng(1)
    best = rng.random(200)
    close = best - rng.normal(0.005, 0.01, 200)        # slightly worse on average
    worse = best * 0.5                                 # clearly worse
    same = best.copy()                                 # identical to the best on every user
    data = frame({"best": best.tolist(), "close": close.tolist(), "worse": worse.tolist(),
                  "same": same.tolist()})
    tests = paired_tests(data).set_index("model")
    assert set(tests.index) == {"close", "worse", "same"}
    assert set(tests["best_model"]) == {"best"}
    best_name = "best"
    values = {"best": best, "close": close, "worse": worse, "same": same}
    for model, row in tests.iterrows():
        diff = values[model] - values[best_name]
        if np.any(diff):
            assert row.p_wilcoxon == pytest.approx(stats.wilcoxon(diff).pvalue, rel=1e-9)
            assert row.p_ttest == pytest.approx(stats.ttest_rel(values[model], values[best_name]).pvalue, rel=1e-9)
        else:
            assert row.p_wilcoxon == 1.0
        assert row.mean_diff == pytest.approx(diff.mean())
        assert row.users == 200
    assert tests.loc["worse", "p_holm"] < 1e-10


def test_paired_tests_with_missing_values_use_the_users_both_models_have():
    data = frame({"a": [1.0, 0.0, 1.0, 1.0, np.nan], "b": [0.0, 0.0, 1.0, 0.0, 1.0]})
    row = paired_tests(data).iloc[0]
    assert (row.model, row.best_model, row.users) == ("b", "a", 4)
    assert row.mean_diff == pytest.approx(-0.5)


def test_holm_is_monotone_and_capped():
    assert holm([0.5, 0.01, np.nan]) == pytest.approx([0.5, 0.02, np.nan], nan_ok=True)
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    assert holm([0.04, 0.01, 0.03]) == pytest.approx([0.06, 0.03, 0.06])
