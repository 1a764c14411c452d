"""Idempotent re-runs: running the pipeline again leaves exactly one copy of each result (equal
row counts, no duplicate keys, equal content), for ``recsys evaluate`` and for ``recsys build``."""

from __future__ import annotations

import pandas as pd
import pytest
from robust_fixtures import copy_settings, robust_config, table_digests
from robust_tables import KEYS, duplicate_keys, read_sorted
from test_reproducibility import assert_same

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def twice(rerun, tmp_path_factory):
    """A copy of ``rerun``'s warehouse (one evaluate done) after evaluate and build again."""
    from recsys.dbt_runner import build
    from recsys.pipeline import run_evaluate

    once = rerun[0]
    work = tmp_path_factory.mktemp("robust_twice")
    settings = copy_settings(once, work)
    run_evaluate(settings, robust_config(), fold="test", two_stage=False, progress=False)
    after_evaluate = table_digests(settings.warehouse)
    build(settings, select=["folds", "eval_targets"], target_path=work / "dbt_target",
          log_path=work / "dbt_logs")
    return once, settings, after_evaluate


@pytest.mark.parametrize("table", list(KEYS))
def test_evaluate_twice_leaves_one_copy_of_each_row(table, twice):
    once, settings, _ = twice
    assert duplicate_keys(settings.warehouse)[table] == 0
    first, second = read_sorted(once.warehouse, table), read_sorted(settings.warehouse, table)
    assert len(first) == len(second) > 0
    assert_same(first, second)


def test_build_again_keeps_every_table_once_and_unchanged(twice):
    _, settings, after_evaluate = twice
    assert table_digests(settings.warehouse) == after_evaluate
    assert not any(duplicate_keys(settings.warehouse).values())


def test_reports_are_rewritten_not_appended(twice):
    once, settings, _ = twice
    for name in ("metrics.csv", "paired_tests.csv", "run_manifest.json", "report.html"):
        assert (settings.reports_dir / name).exists()
    a, b = (pd.read_csv(s.reports_dir / "metrics.csv") for s in (once, settings))
    assert len(a) == len(b) > 0
    assert sorted(p.name for p in settings.reports_dir.iterdir() if not p.name.startswith(".")) == \
        sorted(p.name for p in once.reports_dir.iterdir() if not p.name.startswith("."))
