"""The warehouse connection of the ranking stage: DuckDB's own progress bar off (we use tqdm)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from recsys.config import Settings
from recsys.warehouse import open_warehouse


@contextmanager
def ranking_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """``open_warehouse`` without DuckDB printing progress bars to stdout (library never prints)."""
    with open_warehouse(settings) as con:
        con.execute("SET enable_progress_bar = false")
        yield con
