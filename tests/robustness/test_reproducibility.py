"""Reproducibility: the same data, config and seed give identical candidates, recommendations,
metrics and reports on two independent runs (two warehouse copies in two folders), and
``run_manifest.json`` records config, seeds, package versions and the data profile."""

from __future__ import annotations

import json
from importlib import metadata

import pandas as pd
import pytest
from robust_tables import KEYS, read_sorted

pytestmark = pytest.mark.slow


# Metrics that are sums of doubles over many rows (embedding similarities, log-popularities):
# DuckDB aggregates them in parallel, so the summation order, and with it the last bit or two,
# may change between runs (seen: differences up to 3e-15). Every other value must be bit-identical.
FLOAT_SUMS = {"diversity", "novelty", "popularity_bias"}


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert len(a) == len(b) > 0
    if "metric" not in a.columns:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        return
    summed = a["metric"].isin(FLOAT_SUMS).to_numpy()
    assert (summed == b["metric"].isin(FLOAT_SUMS).to_numpy()).all()
    pd.testing.assert_frame_equal(a[~summed], b[~summed], check_exact=True)
    pd.testing.assert_frame_equal(a[summed], b[summed], check_exact=False, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("table", list(KEYS))
def test_two_runs_write_identical_tables(table, evaluated, rerun):
    first, second = evaluated[0].warehouse, rerun[0].warehouse
    assert first != second
    assert_same(read_sorted(first, table), read_sorted(second, table))


def test_two_runs_write_identical_reports(evaluated, rerun):
    (first, result_a), (second, result_b) = evaluated, rerun
    keys = ["fold", "target", "model", "subset", "metric", "k"]
    a, b = (pd.read_csv(s.reports_dir / "metrics.csv").sort_values(keys).reset_index(drop=True)
            for s in (first, second))
    assert_same(a, b)
    assert (first.reports_dir / "paired_tests.csv").read_text() == \
        (second.reports_dir / "paired_tests.csv").read_text()
    assert result_a.table == result_b.table
    # the seeded models are in the table (their numbers, not just their names, are compared above)
    assert {"random", "ials"} <= set(result_a.metrics["model"])


def test_manifest_records_config_seeds_packages_and_data(evaluated, rerun, tiny_dataset):
    manifests = [json.loads((s.reports_dir / "run_manifest.json").read_text()) for s, _ in (evaluated, rerun)]
    first = manifests[0]
    assert first["seeds"] == {"seed": 42, "ranker.seed": 42}
    assert first["config"]["candidates"]["models"] == ["random", "mostpop", "ials"]
    assert first["config"]["evaluation"]["bootstrap_samples"] == 20
    assert first["fold"] == "test" and first["models"] == ["random", "mostpop", "ials"]
    assert first["packages"]["duckdb"] == metadata.version("duckdb")
    assert first["packages"]["implicit"] == metadata.version("implicit")
    listens = first["data"]["files"]["flat/tiny/listens.parquet"]
    import pyarrow.parquet as pq

    assert listens["rows"] == pq.read_metadata(tiny_dataset / "flat/tiny/listens.parquet").num_rows
    targets = first["warehouse"]["targets"]
    assert set(targets) == {"listen_plus", "like"} and targets["listen_plus"]["users"] > 0
    assert first["warehouse"]["window"]["target_start_ts"] == 25_913_600
    # what makes two runs comparable is equal; only where and when differ
    same = ("config", "seeds", "packages", "data", "warehouse", "fold", "models")
    assert {k: manifests[0][k] for k in same} == {k: manifests[1][k] for k in same}
    assert manifests[0]["settings"]["warehouse"] != manifests[1]["settings"]["warehouse"]
