"""recsys profile --against-paper: our baselines and data beside the paper's, checked by hand."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from recsys.config import Settings
from recsys.errors import ConfigError, WarehouseError
from recsys.evaluation.calibration import (
    MODELS,
    against_paper,
    data_shape,
    format_against_paper,
    metric_cells,
    model_order,
)


def _metrics(values: dict[tuple[str, str, str, int], float]) -> pd.DataFrame:
    return pd.DataFrame([{"fold": "test", "target": t, "model": m, "convention": "paper",
                          "subset": "all", "metric": metric, "k": k, "value": v}
                         for (t, m, metric, k), v in values.items()])


def test_each_cell_beside_the_papers_with_the_ratio():
    # the paper's 50m Listen+: MostPop NDCG@10 0.0186, ItemKNN Recall@100 0.1297
    ours = _metrics({("listen_plus", "mostpop", "ndcg", 10): 0.0093,
                     ("listen_plus", "itemknn", "recall", 100): 0.3891,
                     ("listen_plus", "random", "ndcg", 10): 0.5})  # not one of the five
    other = _metrics({("listen_plus", "mostpop", "ndcg", 10): 0.9}).assign(convention="standard")
    cells = metric_cells(pd.concat([ours, other]), "50m").set_index(
        ["target", "model", "metric", "k"])
    assert len(cells) == 2 * len(MODELS) * 4
    mostpop = cells.loc[("listen_plus", "mostpop", "ndcg", 10)]
    assert mostpop["paper"] == 0.0186 and mostpop["ratio"] == pytest.approx(0.5)
    assert bool(mostpop["close"])  # exactly half: within a factor of two
    itemknn = cells.loc[("listen_plus", "itemknn", "recall", 100)]
    assert itemknn["ratio"] == pytest.approx(3.0) and not itemknn["close"]
    missing = cells.loc[("like", "bpr", "ndcg", 10)]
    assert pd.isna(missing["ours"]) and not missing["close"]


def test_the_order_of_the_five_on_each_side():
    ours = _metrics({("like", m, "ndcg", 10): v for m, v in
                     zip(MODELS, [0.02, 0.03, 0.001, 0.01, 0.01], strict=True)})
    cells = metric_cells(ours, "50m")
    # ties (ials and bpr at 0.01) by name
    assert model_order(cells, "ours", "like") == ["decaypop", "mostpop", "bpr", "ials", "itemknn"]
    # the paper's 50m Like NDCG@10: DecayPop .0180, ItemKNN .0125, iALS .0078, BPR .0056, MostPop .0046
    assert model_order(cells, "paper", "like") == ["decaypop", "itemknn", "ials", "bpr", "mostpop"]
    text = format_against_paper({"size": "50m", "cells": cells, "shape": data_shape(PROFILE, "50m"),
                                 "order": {t: {s: model_order(cells, s, t) for s in ("ours", "paper")}
                                           for t in ("listen_plus", "like")}})
    # decaypop .03 / .018, ials .01 / .0078, bpr .01 / .0056 within two; mostpop, itemknn not
    assert "3 of 20 cells" in text and "paper decaypop > itemknn > ials > bpr > mostpop" in text


PROFILE = {"users": 5_000, "items": 467_000,
           "events": {"listens": {"events": 23_000_000, "history_median": 1_538, "history_p90": 1,
                                  "history_p95": 1, "organic_share": 0.5},
                      "unlikes": {"events": 10, "history_median": 1, "history_p90": 1,
                                  "history_p95": 1, "organic_share": 0.95}},
           "catalogue": {"items_with_1_2_events_share": 0.25}}


def test_the_data_shape_beside_the_papers_statistics():
    shape = data_shape(PROFILE, "50m").set_index("statistic")
    assert shape.loc["users", "paper"] == 10_000 and shape.loc["items", "paper"] == 934_057
    assert shape.loc["listens", "paper"] == 46_467_212
    assert pd.isna(shape.loc["unlikes", "paper"])  # no published total
    assert shape.loc["listens per user, median", "paper"] == 3_076  # the paper's 5b
    assert shape.loc["listens organic share", "paper"] == pytest.approx(0.513)
    assert shape.loc["items with 1-2 events, share", "ours"] == 0.25


def test_only_an_evaluated_warehouse_of_a_paper_size(tmp_path):
    with pytest.raises(ConfigError, match="publishes sizes 50m, 500m, 5b, not 'small'"):
        against_paper(Settings(size="small", warehouse=tmp_path / "w.duckdb"))
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table metrics (fold varchar, target varchar, model varchar, "
                    "convention varchar, subset varchar, metric varchar, k integer, value double, "
                    "users bigint)")
    with pytest.raises(WarehouseError, match="No paper-convention test metrics"):
        against_paper(Settings(size="50m", warehouse=path))
