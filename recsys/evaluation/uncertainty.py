"""Attach bootstrap intervals to ``metrics`` and run the paired tests, group by group.

Reads ``metrics_per_user`` one (fold, target, subset) at a time, so memory stays at one group's
users x (models x metrics x cut-offs) values even on the large datasets.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import duckdb
import numpy as np
import pandas as pd

from recsys.columns import Tables
from recsys.evaluation.significance import bootstrap_intervals, paired_tests
from recsys.evaluation.sql import ACCURACY_METRICS
from recsys.progress import progress_bar

KEYS = ["fold", "target", "model", "convention", "subset", "metric", "k"]
GROUP = ["fold", "target", "convention", "subset"]


def with_uncertainty(
    con: duckdb.DuckDBPyConnection,
    metrics: pd.DataFrame,
    *,
    samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
    progress: bool = False,
    untested: Collection[tuple[str, str]] = (),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``metrics`` with ``ci_low``/``ci_high`` added, and the paired tests of every group.

    Coverage has no per-user value, so its interval is left empty (NaN). Paired tests cover the
    accuracy metrics (higher is better); beyond-accuracy metrics have no "best" direction.
    ``untested``: (target, model) pairs with intervals but left out of the paired tests (the
    two-stage model not chosen on val: a variant of the headline one).
    """
    groups = metrics[GROUP].drop_duplicates().sort_values(GROUP)
    intervals, tests = [], []
    for fold, target, convention, subset in progress_bar(
        list(groups.itertuples(index=False)), desc="bootstrap", unit="group",
        disable=not progress, leave=False,
    ):
        per_user = con.execute(
            f"select uid, model, metric, k, value, weight from {Tables.metrics_per_user} "
            "where fold = ? and target = ? and convention = ? and subset = ?",
            [fold, target, convention, subset],
        ).df()
        if per_user.empty:
            continue
        # the standard convention keeps the resamples it always had (key without convention)
        key = "/".join([fold, target, subset] + ([] if convention == "standard" else [convention]))
        ci = bootstrap_intervals(per_user, samples=samples, confidence=confidence, seed=seed, key=key)
        keys = {"fold": fold, "target": target, "convention": convention, "subset": subset}
        intervals.append(ci.assign(**keys))
        skip = [m for t, m in untested if t == target]
        tested = paired_tests(per_user[~per_user["model"].isin(skip)], ACCURACY_METRICS)
        tests.append(tested.assign(**keys))
    ci_columns = [*KEYS, "ci_low", "ci_high"]
    ci = pd.concat(intervals) if intervals else pd.DataFrame(columns=ci_columns)
    ci["k"] = ci["k"].astype(np.int64)
    out = metrics.astype({"k": np.int64}).merge(ci[ci_columns], on=KEYS, how="left")
    test_frame = pd.concat(tests, ignore_index=True) if tests else pd.DataFrame()
    if not test_frame.empty:
        first = GROUP
        test_frame = test_frame[first + [c for c in test_frame.columns if c not in first]]
    return out.sort_values(KEYS).reset_index(drop=True), test_frame


def ordered_models(models: Sequence[str], preferred: Sequence[str]) -> list[str]:
    """``models`` in the config's report order, unknown names after it in name order."""
    known = [m for m in preferred if m in set(models)]
    return known + sorted(set(models) - set(known))
