"""Matplotlib figures for the HTML report, each returned as a base64 PNG (self-contained HTML)."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SUBSET_COLORS = {"all": "#4C72B0", "organic": "#55A868", "recommendation": "#C44E52",
                 "repeat": "#8172B2", "discovery": "#CCB974"}
TARGET_COLORS = {"listen_plus": "#4C72B0", "like": "#DD8452"}
LABELS = {"ndcg": "NDCG", "recall": "Recall", "precision": "Precision", "hitrate": "HitRate",
          "mrr": "MRR", "map": "MAP", "coverage": "Coverage", "novelty": "Novelty (bits)",
          "popularity_bias": "Popularity percentile", "diversity": "Intra-list diversity"}


def to_base64(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _errors(rows: pd.DataFrame) -> np.ndarray | None:
    if rows["ci_low"].isna().all():
        return None
    low = (rows["value"] - rows["ci_low"]).clip(lower=0).fillna(0)
    high = (rows["ci_high"] - rows["value"]).clip(lower=0).fillna(0)
    return np.vstack([low.to_numpy(), high.to_numpy()])


def metric_bars(
    metrics: pd.DataFrame, target: str, panels: Sequence[tuple[str, int]], models: Sequence[str]
) -> str:
    """Horizontal bars per model with bootstrap interval whiskers, one panel per (metric, k)."""
    return to_base64(metric_bars_figure(metrics, target, panels, models))


def metric_bars_figure(
    metrics: pd.DataFrame, target: str, panels: Sequence[tuple[str, int]], models: Sequence[str]
):
    """The figure behind :func:`metric_bars`; each value label starts past its whisker."""
    rows_all = metrics[(metrics["target"] == target) & (metrics["subset"] == "all")]
    ncols = 2
    nrows = -(-len(panels) // ncols)
    height = 0.32 * len(models) + 1.2
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, height * nrows), squeeze=False)
    for ax, (metric, k) in zip(axes.flat, panels, strict=False):
        rows = rows_all[(rows_all["metric"] == metric) & (rows_all["k"] == k)]
        rows = rows.set_index("model").reindex(list(models)[::-1])
        ax.barh(rows.index, rows["value"].fillna(0), xerr=_errors(rows), color="#4C72B0",
                ecolor="#222222", capsize=3)
        ends = label_positions(rows["value"], rows["ci_high"])
        margin = LABEL_MARGIN * (float(np.nanmax(ends)) if np.isfinite(ends).any() else 0.0)
        for y, (x, value) in enumerate(zip(ends + margin, rows["value"], strict=True)):
            if pd.notna(value):
                ax.text(x, y, f"{value:.4f}", va="center", ha="left", fontsize=8)
        ax.set_title(f"{LABELS.get(metric, metric)}@{k}")
        ax.grid(axis="x", alpha=0.3)
        ax.margins(x=0.25)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{target}: mean over evaluated users, {_ci_note(rows_all)}", fontsize=11)
    fig.tight_layout()
    return fig


# gap between a whisker's end and its value label, as a share of the panel's largest bar end
LABEL_MARGIN = 0.02


def label_positions(values: pd.Series, ci_high: pd.Series, margin: float = 0.0) -> np.ndarray:
    """Where a bar's value label starts (left-aligned): ``margin`` past the end of its interval
    whisker, or of the bar when there is no interval, so a label never overlaps a whisker.

    >>> label_positions(pd.Series([0.2, 0.5]), pd.Series([0.3, float("nan")]), margin=0.01).tolist()
    [0.31, 0.51]
    """
    values = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    high = pd.to_numeric(pd.Series(ci_high), errors="coerce").to_numpy(dtype=float)
    return np.fmax(values, high) + margin


def _ci_note(rows: pd.DataFrame) -> str:
    return "whiskers = bootstrap interval" if rows["ci_low"].notna().any() else "no intervals"


def subset_bars(
    metrics: pd.DataFrame, target: str, metric: str, ks: Sequence[int], models: Sequence[str],
    subsets: Sequence[str] = ("all", "organic", "recommendation"),
    title: str = "targets the user found (organic) vs recommendation-driven",
) -> str:
    """Grouped bars: the same lists scored against each subset of the targets, per model."""
    rows_t = metrics[(metrics["target"] == target) & (metrics["metric"] == metric)]
    fig, axes = plt.subplots(1, len(ks), figsize=(5.5 * len(ks), 0.45 * len(models) + 1.8),
                             squeeze=False)
    width = 0.8 / len(subsets)
    for ax, k in zip(axes.flat, ks, strict=True):
        y = np.arange(len(models))[::-1]
        for j, subset in enumerate(subsets):
            rows = rows_t[(rows_t["k"] == k) & (rows_t["subset"] == subset)]
            rows = rows.set_index("model").reindex(list(models))
            users = rows["users"].dropna()
            label = f"{subset} ({int(users.max()):,} users)" if len(users) else subset
            ax.barh(y + ((len(subsets) - 1) / 2 - j) * width, rows["value"].fillna(0), height=width,
                    xerr=_errors(rows), color=SUBSET_COLORS[subset], ecolor="#333333",
                    capsize=2, label=label)
        ax.set_yticks(y, list(models))
        ax.set_title(f"{LABELS.get(metric, metric)}@{k}")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle(f"{target}: {title}", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=len(subsets), fontsize=9, frameon=False)
    return to_base64(fig)


def recall_curves(curve: pd.DataFrame, target: str, models: Sequence[str]) -> str:
    """Recall@k against k (log axis), one line per model."""
    rows_t = curve[curve["target"] == target]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for model in models:
        rows = rows_t[rows_t["model"] == model].sort_values("k")
        if len(rows):
            ax.plot(rows["k"], rows["value"], marker="o", markersize=3, label=model)
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k (standard)")
    ax.set_title(f"{target}: Recall@k")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return to_base64(fig)


def difference_summary(diff: pd.DataFrame, target: str) -> str:
    """Per model, the share of evaluated users whose NDCG@10 is below (left) or above (right)
    that of the strongest single baseline, and the mean difference: one row per model."""
    rows_t = diff[diff["target"] == target]
    models = list(dict.fromkeys(rows_t["model"]))
    baseline = rows_t["baseline"].iloc[0] if len(rows_t) else ""
    fig, ax = plt.subplots(figsize=(8, 0.5 * max(1, len(models)) + 1.4))
    for row, model in enumerate(models):
        values = rows_t[rows_t["model"] == model]["diff"].to_numpy()
        worse, better = float((values < 0).mean()), float((values > 0).mean())
        ax.barh(row, -worse, color="#C44E52", height=0.6)
        ax.barh(row, better, color="#55A868", height=0.6)
        ax.text(better + 0.01, row, f"{better:.0%} better, {worse:.0%} worse, mean "
                f"{values.mean():+.4f}", va="center", fontsize=9)
    ax.axvline(0, color="#222222", linewidth=0.8)
    ax.set_yticks(range(len(models)), models, fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(-1, 1.6)
    ax.set_xticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
    ax.set_xlabel(f"share of evaluated users: NDCG@10 below (left) / above (right) {baseline}'s "
                  "(equal users not drawn)", fontsize=10)
    ax.set_title(f"{target}: each model against {baseline}, user by user", fontsize=11)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return to_base64(fig)


def long_tail(item_popularity: pd.DataFrame) -> str:
    """Rank-popularity curve (log-log) of the training items, one line per target."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for target, rows in item_popularity.groupby("target", sort=True):
        rows = rows.sort_values("events", ascending=False)
        ranks = rows["items"].cumsum().to_numpy()
        ax.step(ranks, rows["events"].to_numpy(), where="pre",
                color=TARGET_COLORS.get(target), label=_tail_label(target, rows))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("item rank by popularity")
    ax.set_ylabel("target events in history")
    ax.set_title("Item long tail")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return to_base64(fig)


def _tail_label(target: str, rows: pd.DataFrame) -> str:
    items = rows["items"].sum()
    small = rows.loc[rows["events"] <= 2, "items"].sum() / items
    return f"{target}: {items:,} items, {small:.0%} with <= 2 events"


def history_lengths(user_history: pd.DataFrame) -> str:
    """Histogram (log-spaced bins) of the number of target events per user in the history."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    top = max(float(user_history["events"].max()), 2.0)
    bins = np.unique(np.logspace(0, np.log10(top) + 0.01, 30).round())
    for target, rows in user_history.groupby("target", sort=True):
        median = _weighted_median(rows["events"].to_numpy(), rows["users"].to_numpy())
        ax.hist(rows["events"], bins=bins, weights=rows["users"], histtype="step", linewidth=1.5,
                color=TARGET_COLORS.get(target),
                label=f"{target}: {rows['users'].sum():,} users, median {median:,.0f}")
    ax.set_xscale("log")
    ax.set_xlabel("target events per user in history")
    ax.set_ylabel("users")
    ax.set_title("User history length")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_base64(fig)


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def feature_importance(importance: pd.DataFrame, top: int = 20) -> str:
    """Top features by LightGBM gain, one panel per target."""
    targets = sorted(importance["target"].unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(6 * len(targets), 0.3 * top + 1.2),
                             squeeze=False)
    for ax, target in zip(axes.flat, targets, strict=True):
        rows = importance[importance["target"] == target].nlargest(top, "gain")[::-1]
        total = importance.loc[importance["target"] == target, "gain"].sum()
        ax.barh(rows["feature"], rows["gain"] / total if total else rows["gain"], color="#8172B2")
        ax.set_title(f"{target}: share of total gain")
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return to_base64(fig)
