"""The evaluation protocol as dbt defines it, read by Python: one definition of every number.

The dbt project's vars (``dbt_project/dbt_project.yml``) own the protocol: the data's last
timestamp, the target window and the gap (hence every fold's boundaries), the Listen+
threshold, and the generators pivoted into ``candidate_features``. Python reads them here and
never spells them again. :func:`fold_bounds` is the formula of ``dbt_project/macros/folds.sql``
for data that has not been built yet (``recsys profile``); once the warehouse exists, the
``folds`` table is the source (``tests/dbt`` checks that both agree).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from recsys.config import DBT_PROJECT_DIR


@cache
def dbt_vars() -> dict[str, Any]:
    """Every var of ``dbt_project.yml`` with its default value."""
    return dict(yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())["vars"])


def var(name: str) -> Any:
    return dbt_vars()[name]


def listen_plus_threshold() -> int:
    """A listen with ``played_ratio_pct`` at or above this is a Listen+ event (the paper: 50)."""
    return int(var("listen_plus_threshold"))


def last_timestamp() -> int:
    return int(var("last_timestamp"))


def fold_name(k: int) -> str:
    """Fold ``k``: 0 ``test``, 1 ``val``, k >= 2 ``val_<k>`` (dbt macro ``fold_name``)."""
    return "test" if k == 0 else "val" if k == 1 else f"val_{k}"


def fold_bounds(n_folds: int = 2) -> dict[str, tuple[int, int, int]]:
    """``fold -> (history_end_ts, target_start_ts, target_end_ts)``: history end exclusive,
    target window ``[start, end)``, as dbt's ``fold_rows`` macro computes them.

    >>> bounds = fold_bounds()
    >>> bounds["test"][0] == bounds["val"][2], bounds["test"][2] == last_timestamp() + 1
    (True, True)
    """
    last, window, gap = last_timestamp(), int(var("target_window_seconds")), int(var("gap_seconds"))
    out = {}
    for k in range(n_folds):
        start = last - window - k * (window + gap)
        out[fold_name(k)] = (start - gap, start, last + 1 if k == 0 else start + window)
    return out
