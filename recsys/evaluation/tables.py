"""The paper-style table (rows = models; NDCG, Recall, Coverage at each k, per target)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

PAPER_METRICS = (("ndcg", "NDCG"), ("recall", "Recall"), ("coverage", "Coverage"))
CSV_COLUMNS = ["fold", "target", "model", "subset", "metric", "k", "value", "users", "ci_low", "ci_high"]


def paper_columns(ks: Sequence[int]) -> list[tuple[str, int, str]]:
    """(metric, k, label) in the paper's order: every metric at every k."""
    return [(m, int(k), f"{label}@{k}") for m, label in PAPER_METRICS for k in ks]


def paper_frame(
    metrics: pd.DataFrame, fold: str, target: str, ks: Sequence[int], models: Sequence[str]
) -> pd.DataFrame:
    """One target's paper table as a frame: index = models, columns = labels (NaN when absent)."""
    rows = metrics[(metrics["fold"] == fold) & (metrics["target"] == target)
                   & (metrics["subset"] == "all")]
    values = rows.set_index(["model", "metric", "k"])["value"]
    out = pd.DataFrame(index=list(models))
    for metric, k, label in paper_columns(ks):
        out[label] = [values.get((m, metric, k), float("nan")) for m in models]
    return out


def paper_table(
    metrics: pd.DataFrame,
    *,
    fold: str,
    targets: Sequence[str],
    ks: Sequence[int],
    models: Sequence[str],
    users: dict[str, int] | None = None,
) -> str:
    """Plain-text table, one block of columns per target, 4 decimals as in the Yambda paper."""
    columns = paper_columns(ks)
    label_width = max(8, *(len(label) for _, _, label in columns)) + 1
    model_width = max(5, *(len(m) for m in models)) + 2
    lines = []
    header_targets = " " * model_width
    header_labels = "model".ljust(model_width)
    frames = {t: paper_frame(metrics, fold, t, ks, models) for t in targets}
    for target in targets:
        title = target + (f" ({users[target]:,} users)" if users and target in users else "")
        block = label_width * len(columns)
        header_targets += " | " + title[: block - 1].ljust(block)
        header_labels += " |" + "".join(label.rjust(label_width) for _, _, label in columns)
    lines += [f"{fold} fold", header_targets.rstrip(), header_labels, "-" * len(header_labels)]
    for model in models:
        line = model.ljust(model_width)
        for target in targets:
            row = frames[target].loc[model]
            cells = ("-" if pd.isna(v) else f"{v:.4f}" for v in row.to_numpy())
            line += " |" + "".join(c.rjust(label_width) for c in cells)
        lines.append(line)
    return "\n".join(lines)


def csv_frame(metrics: pd.DataFrame) -> pd.DataFrame:
    """The long ``reports/metrics.csv`` layout, in a stable row order."""
    frame = metrics.copy()
    for column in ("ci_low", "ci_high"):
        if column not in frame:
            frame[column] = float("nan")
    return frame[CSV_COLUMNS].sort_values(CSV_COLUMNS[:6]).reset_index(drop=True)
