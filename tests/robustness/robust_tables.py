"""Table contracts the robustness tests check: the key of each Python/SQL-written table."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

KEYS = {
    "candidates": ["fold", "target", "model", "uid", "rank"],
    "recommendations": ["fold", "target", "model", "uid", "rank"],
    "metrics_per_user": ["fold", "target", "model", "convention", "subset", "metric", "k", "uid"],
    "metrics": ["fold", "target", "model", "convention", "subset", "metric", "k"],
}


def read_sorted(path: Path, table: str) -> pd.DataFrame:
    """The whole table, rows in key order (columns by name), for exact comparison."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        frame = con.execute(f"select * from {table}").df()
    finally:
        con.close()
    frame = frame[sorted(frame.columns)]
    return frame.sort_values(KEYS[table]).reset_index(drop=True)


def duplicate_keys(path: Path) -> dict[str, int]:
    """Number of key values held by more than one row, per table."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from (select 1 from {t} group by {', '.join(k)} "
                               "having count(*) > 1)").fetchone()[0] for t, k in KEYS.items()}
    finally:
        con.close()
