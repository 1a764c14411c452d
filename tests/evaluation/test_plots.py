"""The report's figures: value labels clear of the interval whiskers, and every figure renders."""

import base64

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from recsys.evaluation import plots

MODELS = ["mostpop", "itemknn", "two_stage", "empty"]


def bar_rows(wide_intervals: bool) -> pd.DataFrame:
    rows = []
    for model, value in (("mostpop", 0.01), ("itemknn", 0.15), ("two_stage", 0.16)):
        for metric in ("ndcg", "recall"):
            for k in (10, 100):
                half = 0.08 if wide_intervals else 0.001  # wide: whiskers far beyond the bar
                rows.append(("listen_plus", model, "all", metric, k, value, value - half,
                             value + half, 50))
    rows.append(("listen_plus", "mostpop", "all", "ndcg", 5, 0.02, np.nan, np.nan, 50))
    return pd.DataFrame(rows, columns=["target", "model", "subset", "metric", "k", "value",
                                       "ci_low", "ci_high", "users"])


def whisker_ends(ax) -> dict[float, float]:
    """y of each bar -> the largest x its error-bar line reaches, read off the figure."""
    ends = {}
    for container in ax.containers:
        if getattr(container, "errorbar", None) is None:
            continue
        for segment in container.errorbar.lines[2][0].get_segments():
            ends[round(float(segment[0][1]), 6)] = float(np.max(segment[:, 0]))
    return ends


@pytest.mark.parametrize("wide", [False, True])
def test_value_labels_start_past_the_whisker_top(wide):
    rows = bar_rows(wide)
    panels = [("ndcg", 10), ("recall", 100), ("ndcg", 5)]
    fig = plots.metric_bars_figure(rows, "listen_plus", panels, MODELS)
    checked = 0
    for ax, (metric, k) in zip(fig.axes, panels, strict=False):
        ends = whisker_ends(ax)
        panel = rows[(rows["metric"] == metric) & (rows["k"] == k)].set_index("model")
        assert len(ends) == (len(MODELS) if panel["ci_high"].notna().any() else 0)
        for text in ax.texts:
            x, y = text.get_position()
            model = list(MODELS)[::-1][int(round(y))]
            value, high = panel.loc[model, "value"], panel.loc[model, "ci_high"]
            assert text.get_text() == f"{value:.4f}" and text.get_ha() == "left"
            top = max(value, high) if pd.notna(high) else value
            assert x > top  # the margin: strictly past the whisker (or the bar)
            assert x >= ends.get(round(float(y), 6), value)  # and past what the figure drew
            checked += 1
        assert "empty" not in [t.get_text() for t in ax.texts]
    assert checked == 7  # three models x two panels + mostpop at k=5 (no interval)
    plt.close(fig)


def test_label_positions_take_the_larger_of_bar_and_whisker():
    values = pd.Series([0.2, 0.5, np.nan, 0.3])
    high = pd.Series([0.35, np.nan, np.nan, 0.29])
    xs = plots.label_positions(values, high, margin=0.01)
    assert xs[0] == pytest.approx(0.36) and xs[1] == pytest.approx(0.51) and np.isnan(xs[2])
    assert xs[3] == pytest.approx(0.31)  # a whisker below the bar's end: the bar counts
    finite = ~np.isnan(xs)
    assert (xs[finite] >= np.fmax(values, high)[finite]).all()


def is_png(data: str) -> bool:
    return base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_new_figures_render():
    metrics = bar_rows(False).assign(convention="standard")
    metrics = pd.concat([metrics.assign(subset=s) for s in ("all", "repeat", "discovery")])
    curve = pd.DataFrame([("like", m, k, 0.01 * k) for m in MODELS[:3] for k in (1, 2, 5, 10)],
                         columns=["target", "model", "k", "value"])
    diff = pd.DataFrame({"target": "like", "model": ["a", "a", "b"], "baseline": "itemknn",
                         "diff": [-0.2, 0.1, 0.0]})
    assert is_png(plots.subset_bars(metrics, "listen_plus", "ndcg", [10, 100], MODELS[:3],
                                    subsets=("all", "repeat", "discovery"), title="repeat"))
    assert is_png(plots.recall_curves(curve, "like", MODELS))
    assert is_png(plots.difference_summary(diff, "like"))
    assert is_png(plots.metric_bars(metrics, "listen_plus", [("ndcg", 10)], MODELS))
