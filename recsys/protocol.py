"""The evaluation protocol as dbt defines it, read by Python: one definition of every number.

The dbt project's vars (``dbt_project/dbt_project.yml``) own the protocol: the data's last
timestamp, the target window and the gap (hence every fold's boundaries), the Listen+
threshold, and the generators pivoted into ``candidate_features``. Python reads them here and
never spells them again. :func:`fold_bounds` is the formula of ``dbt_project/macros/folds.sql``
for data that has not been built yet (``recsys profile``); once the warehouse exists, the
``folds`` table is the source (``tests/dbt`` checks that both agree): a fold a command is given
is checked against it (:func:`recsys.warehouse.check_fold`).
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
    """Fold ``k``: 0 ``test``, 1 ``val``, k >= 2 ``val_<k>`` (dbt macro ``fold_name``, the names
    from dbt vars ``test_fold`` / ``val_fold``)."""
    test, val = str(var("test_fold")), str(var("val_fold"))
    return test if k == 0 else val if k == 1 else f"{val}_{k}"


def fold_index(name: str) -> int | None:
    """The ``k`` of :func:`fold_name` (``None`` when ``name`` names no fold).

    >>> [fold_index(n) for n in ("test", "val", "val_3", "val_1", "val_x", "train")]
    [0, 1, 3, None, None, None]
    """
    if name == fold_name(0):
        return 0
    if name == fold_name(1):
        return 1
    head, _, k = name.rpartition("_")
    if head == fold_name(1) and k.isdigit() and not k.startswith("0") and int(k) >= 2:
        return int(k)
    return None


# the evaluated fold and the tuning fold (the ranker's first training fold)
TEST_FOLD = fold_name(0)
VAL_FOLD = fold_name(1)
# the folds every build has (``n_folds`` >= 2), in the order the CLI lists them
EVALUATION_FOLDS = (VAL_FOLD, TEST_FOLD)


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
