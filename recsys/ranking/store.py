"""Warehouse tables written by the ranking stage (DDL in one place, every write one transaction).

* ``recommendations`` (model ``two_stage``): fold, target, model, uid, item_id, rank, score;
* ``ranker_feature_importance``: target, feature, gain (total split gain, trained on val);
* ``candidate_recall``: fold, target, source, recall, targets (see :mod:`recsys.ranking.recall`).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from recsys.columns import Tables
from recsys.warehouse import replace_slice

FEATURE_IMPORTANCE = "ranker_feature_importance"
CANDIDATE_RECALL = "candidate_recall"

RECOMMENDATIONS_DDL = f"""
create table if not exists {Tables.recommendations} (
    fold varchar, target varchar, model varchar, uid uinteger, item_id uinteger,
    rank integer, score double
)"""
FEATURE_IMPORTANCE_DDL = f"""
create table if not exists {FEATURE_IMPORTANCE} (target varchar, feature varchar, gain double)"""
CANDIDATE_RECALL_DDL = f"""
create table if not exists {CANDIDATE_RECALL} (
    fold varchar, target varchar, source varchar, recall double, targets bigint
)"""


def write_recommendations(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, fold: str, target: str, model: str
) -> int:
    """Replace the (fold, target, model) slice of ``recommendations`` with ``frame``."""
    key = {"fold": fold, "target": target, "model": model}
    return replace_slice(con, Tables.recommendations, frame, key, create_sql=RECOMMENDATIONS_DDL)


def write_feature_importance(
    con: duckdb.DuckDBPyConnection, target: str, gains: dict[str, float]
) -> int:
    """Replace the ``target`` slice of ``ranker_feature_importance``, largest gain first."""
    frame = pd.DataFrame({"target": target, "feature": list(gains), "gain": list(gains.values())})
    frame = frame.sort_values(["gain", "feature"], ascending=[False, True], ignore_index=True)
    return replace_slice(con, FEATURE_IMPORTANCE, frame, {"target": target}, create_sql=FEATURE_IMPORTANCE_DDL)


def write_candidate_recall(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, fold: str, target: str
) -> int:
    """Replace the (fold, target) slice of ``candidate_recall``."""
    key = {"fold": fold, "target": target}
    return replace_slice(con, CANDIDATE_RECALL, frame, key, create_sql=CANDIDATE_RECALL_DDL)
