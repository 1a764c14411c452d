"""The paper's Tables 6 and 7 as shipped in recsys/data/paper_tables.csv, in our model names."""

from pathlib import Path

import pandas as pd
import pytest

from recsys.evaluation.paper import COLUMNS, MODEL_NAMES, paper_values

CSV = Path(__file__).parents[2] / "recsys" / "data" / "paper_tables.csv"


@pytest.mark.parametrize(("size", "target", "model", "metric", "k", "value"), [
    ("50m", "listen_plus", "itemknn", "recall", 100, 0.1297),
    ("50m", "listen_plus", "mostpop", "ndcg", 10, 0.0186),
    ("50m", "like", "decaypop", "ndcg", 10, 0.0180),
    ("500m", "like", "sasrec", "coverage", 100, 0.1047),
    ("5b", "listen_plus", "bpr", "ndcg", 100, 0.0664),
    ("5b", "like", "random", "coverage", 10, 0.9838),
])
def test_paper_values_pin_the_tables(size, target, model, metric, k, value):
    values = paper_values(size).set_index(["target", "model", "metric", "k"])["paper_value"]
    assert values[(target, model, metric, k)] == value


def test_every_csv_cell_becomes_one_row_and_empty_cells_none():
    wide = pd.read_csv(CSV)
    assert list(wide.columns) == ["size", "target", "model", "ndcg@10", "ndcg@100", "recall@10",
                                  "recall@100", "coverage@10", "coverage@100"]
    for size, rows in wide.groupby("size"):
        frame = paper_values(size)
        assert list(frame.columns) == COLUMNS
        assert len(frame) == int(rows.iloc[:, 3:].notna().sum().sum())
        assert set(frame["model"]) <= set(MODEL_NAMES.values())
        assert frame["paper_value"].notna().all()
    index = paper_values("500m").set_index(["target", "model", "metric", "k"]).index
    assert ("listen_plus", "sansa", "ndcg", 10) not in index  # empty in the paper
    assert ("like", "sansa", "ndcg", 10) in index


@pytest.mark.parametrize("size", ["small", "tiny", ""])
def test_a_size_the_paper_has_not_gives_an_empty_frame(size):
    frame = paper_values(size)
    assert frame.empty and list(frame.columns) == COLUMNS


def test_the_shipped_csv_is_the_shared_copy():
    shared = Path("/work/shared/paper_tables.csv")
    if not shared.is_file():
        pytest.skip("no shared copy on this machine")
    assert CSV.read_bytes() == shared.read_bytes()
