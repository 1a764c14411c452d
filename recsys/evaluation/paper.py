"""The Yambda paper's Tables 6 and 7 (``recsys/data/paper_tables.csv``), in our model names.

The paper's numbers come from the official code before its fixes: compare them with our
``paper`` convention (sql/metrics/README.md).

>>> values = paper_values("50m").set_index(["target", "model", "metric", "k"])["paper_value"]
>>> float(values[("listen_plus", "mostpop", "ndcg", 10)])
0.0186
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

PAPER_SIZES = ("50m", "500m", "5b")
# the paper's model names -> ours (SANSA and SASRec have no generator here)
MODEL_NAMES = {"Random": "random", "MostPop": "mostpop", "DecayPop": "decaypop",
               "ItemKNN": "itemknn", "iALS": "ials", "BPR": "bpr", "SANSA": "sansa",
               "SASRec": "sasrec"}
COLUMNS = ["target", "model", "metric", "k", "paper_value"]


def paper_values(size: str) -> pd.DataFrame:
    """Long frame ``target, model, metric, k, paper_value`` of one paper size (empty otherwise)."""
    if size not in PAPER_SIZES:
        return pd.DataFrame(columns=COLUMNS)
    with resources.files("recsys").joinpath("data/paper_tables.csv").open() as handle:
        wide = pd.read_csv(handle)
    wide = wide[wide["size"] == size].drop(columns="size")
    long = wide.melt(id_vars=["target", "model"], var_name="column", value_name="paper_value")
    long = long.dropna(subset=["paper_value"])
    long[["metric", "k"]] = long["column"].str.split("@", expand=True)
    long["k"] = long["k"].astype(int)
    long["model"] = long["model"].map(MODEL_NAMES)
    return long[COLUMNS].sort_values(COLUMNS[:4]).reset_index(drop=True)
