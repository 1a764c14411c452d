"""Our numbers beside the Yambda paper's: the five baselines the paper tunes and the data's shape.

``recsys profile --against-paper`` reads a built and evaluated warehouse of a paper size: the
paper-convention metrics of MostPop, DecayPop, ItemKNN, iALS and BPR on the test fold (the
``metrics`` table ``recsys evaluate`` writes) beside Tables 6 and 7 of the paper
(:func:`recsys.evaluation.paper.paper_values`), each cell with ours / the paper's, the order of the
five models by NDCG@10 on both sides, and the dataset statistics the paper gives
(:data:`recsys.data.presets.PAPER_COUNTS`, ``PAPER_HISTORY``, ``ORGANIC_SHARE``) beside ours
(:func:`recsys.data.profile.profile_dataset`). It is the loop the generator is calibrated with.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import numpy as np
import pandas as pd

from recsys.columns import TARGETS, Tables
from recsys.config import Settings
from recsys.data.presets import ORGANIC_SHARE, PAPER_COUNTS, PAPER_HISTORY
from recsys.errors import ConfigError, WarehouseError
from recsys.evaluation.paper import PAPER_SIZES, paper_values
from recsys.protocol import TEST_FOLD
from recsys.warehouse import open_warehouse, require_tables

MODELS = ("mostpop", "decaypop", "itemknn", "ials", "bpr")  # the paper's tuned baselines
CELLS = (("ndcg", 10), ("ndcg", 100), ("recall", 10), ("recall", 100))
JUDGED = (("ndcg", 10), ("recall", 100))  # the cells a calibration is judged on (20 of them)
WITHIN = 2.0  # a cell is close when ours / the paper's is within this factor
_NAMES = {"ndcg": "NDCG", "recall": "Recall"}
# event file -> its key in ORGANIC_SHARE
_ORGANIC_KEYS = {"listens": "listen", "likes": "like", "dislikes": "dislike", "unlikes": "unlike",
                 "undislikes": "undislike"}


def metric_cells(metrics: pd.DataFrame, size: str) -> pd.DataFrame:
    """``target, model, metric, k, ours, paper, ratio, close`` for :data:`MODELS` x
    :data:`CELLS`, from our paper-convention test-fold rows (subset ``all``) of ``metrics``.

    >>> ours = pd.DataFrame({"fold": "test", "target": "listen_plus", "model": "mostpop",
    ...                      "convention": "paper", "subset": "all", "metric": "ndcg", "k": [10],
    ...                      "value": [0.0372]})
    >>> row = metric_cells(ours, "50m").iloc[0]
    >>> (float(row["paper"]), round(float(row["ratio"]), 2), bool(row["close"]))
    (0.0186, 2.0, True)
    """
    mine = metrics[(metrics["fold"] == TEST_FOLD) & (metrics["convention"] == "paper")
                   & (metrics["subset"] == "all") & metrics["model"].isin(MODELS)]
    mine = mine[["target", "model", "metric", "k", "value"]].rename(columns={"value": "ours"})
    grid = pd.DataFrame([(t, m, metric, k) for t in TARGETS for m in MODELS for metric, k in CELLS],
                        columns=["target", "model", "metric", "k"])
    paper = paper_values(size).rename(columns={"paper_value": "paper"})
    out = grid.merge(mine, how="left").merge(paper, how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = out["ours"] / out["paper"]
    out["close"] = (out["ratio"] >= 1 / WITHIN) & (out["ratio"] <= WITHIN)
    return out


def model_order(cells: pd.DataFrame, side: str, target: str) -> list[str]:
    """The five models by NDCG@10 on ``side`` (``ours`` or ``paper``), best first (ties by
    name)."""
    rows = cells[(cells["target"] == target) & (cells["metric"] == "ndcg") & (cells["k"] == 10)]
    rows = rows.dropna(subset=[side])
    return rows.sort_values([side, "model"], ascending=[False, True])["model"].tolist()


def data_shape(profile: Mapping, size: str) -> pd.DataFrame:
    """``statistic, ours, paper`` for the statistics the paper publishes: totals of ``size``,
    per-user history length (median / p90 / p95, the paper's from 5b), organic shares (5b)
    and our share of items with 1-2 events (the paper: "a substantial long-tail segment")."""
    counts = PAPER_COUNTS[size]
    rows = [("users", profile["users"], counts["users"]),
            ("items", profile["items"], counts["items"])]
    for name, events in profile["events"].items():
        rows.append((f"{name}", events["events"], counts.get(name)))
    for name, events in profile["events"].items():
        for label, key, paper in zip(("median", "p90", "p95"),
                                     ("history_median", "history_p90", "history_p95"),
                                     PAPER_HISTORY.get(name, (None,) * 3), strict=True):
            rows.append((f"{name} per user, {label}", events[key], paper))
    for name, events in profile["events"].items():
        rows.append((f"{name} organic share", events["organic_share"],
                     ORGANIC_SHARE.get(_ORGANIC_KEYS.get(name, ""))))
    rows.append(("items with 1-2 events, share", profile["catalogue"]["items_with_1_2_events_share"],
                 None))
    return pd.DataFrame(rows, columns=["statistic", "ours", "paper"])


def against_paper(settings: Settings) -> dict:
    """The comparison for the warehouse and dataset of ``settings`` (a paper size, evaluated)."""
    from recsys.data.profile import profile_dataset

    if settings.size not in PAPER_SIZES:
        raise ConfigError(
            f"The paper publishes sizes {', '.join(PAPER_SIZES)}, not {settings.size!r}: build and "
            "evaluate one of those (e.g. RECSYS_SIZE=50m make build evaluate) and compare again.")
    with open_warehouse(settings, read_only=True) as con:
        require_tables(con, Tables.metrics)
        metrics = _paper_metrics(con)
    if metrics.empty:
        raise WarehouseError(
            f"No paper-convention test metrics of {', '.join(MODELS)} in {settings.warehouse}: "
            "run `recsys evaluate` (the paper convention is on by default) first.")
    cells = metric_cells(metrics, settings.size)
    return {"size": settings.size, "cells": cells,
            "order": {t: {side: model_order(cells, side, t) for side in ("ours", "paper")}
                      for t in TARGETS},
            "shape": data_shape(profile_dataset(settings.data_dir, settings.size), settings.size)}


def _paper_metrics(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"select fold, target, model, convention, subset, metric, k, value from {Tables.metrics} "
        "where fold = ? and convention = 'paper' and subset = 'all' and list_contains(?, model)",
        [TEST_FOLD, list(MODELS)]).df()


def format_against_paper(result: Mapping) -> str:
    """The comparison as plain text: one table per target, the orders, the count of close cells
    and the data's shape."""
    cells = result["cells"]
    lines = [f"Generated or real data of size {result['size']} against the Yambda paper (paper "
             "convention, test fold; ours / paper in brackets, * within a factor of "
             f"{WITHIN:g})", ""]
    header = f"{'model':<10}" + "".join(f"{f'{_NAMES[m]}@{k}':>28}" for m, k in CELLS)
    for target in TARGETS:
        lines += [target, header]
        for model in MODELS:
            row = cells[(cells["target"] == target) & (cells["model"] == model)]
            parts = []
            for metric, k in CELLS:
                c = row[(row["metric"] == metric) & (row["k"] == k)].iloc[0]
                parts.append(f"{_cell(c):>28}")
            lines.append(f"{model:<10}" + "".join(parts))
        order = result["order"][target]
        same = "the same" if order["ours"] == order["paper"] else "differs"
        lines += [f"order by NDCG@10: ours {' > '.join(order['ours'])}; "
                  f"paper {' > '.join(order['paper'])} ({same})", ""]
    judged = cells[cells.apply(lambda r: (r["metric"], r["k"]) in JUDGED, axis=1)]
    lines.append(f"{int(judged['close'].sum())} of {len(judged)} cells (NDCG@10 and Recall@100, "
                 f"both targets) within a factor of {WITHIN:g} of the paper's")
    lines += ["", f"{'statistic':<36}{'ours':>16}{'paper':>16}{'ours / paper':>14}"]
    for row in result["shape"].itertuples():
        ratio = (f"{row.ours / row.paper:.2f}" if row.paper not in (None, 0) and row.ours is not None
                 and not pd.isna(row.paper) else "")
        lines.append(f"{row.statistic:<36}{_stat(row.ours):>16}{_stat(row.paper):>16}{ratio:>14}")
    lines.append("(history lengths and organic shares of the paper: 5b; per-user lengths are alike at "
                 "every size)")
    return "\n".join(lines)


def _cell(c) -> str:
    if pd.isna(c["ours"]):
        return "-"
    if pd.isna(c["paper"]):
        return f"{c['ours']:.4f}"
    mark = "*" if c["close"] else " "
    return f"{c['ours']:.4f} / {c['paper']:.4f} ({c['ratio']:.2f}){mark}"


def _stat(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float) and value < 1:
        return f"{value:.1%}"
    return f"{value:,.0f}"
