"""Every ad-hoc query in sql/analysis/ (ours: not the data engineer's profile_*.sql) runs on a built warehouse."""

from __future__ import annotations

import pytest

from recsys.config import SQL_DIR
from recsys.warehouse import connect

pytestmark = pytest.mark.slow

QUERIES = sorted(p for p in (SQL_DIR / "analysis").glob("*.sql") if not p.name.startswith("profile_"))


def test_the_expected_queries_exist():
    names = {p.stem for p in QUERIES}
    assert {"organic_share_by_day", "history_length_quantiles", "item_long_tail", "fold_sizes"} <= names


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_has_a_header_and_returns_rows(tiny_warehouse, path):
    text = path.read_text()
    header = [line for line in text.splitlines()[:12] if line.startswith("--")]
    assert len(header) >= 3 and any("Grain" in line for line in header), "header: purpose, reads, grain"
    con = connect(tiny_warehouse.warehouse, read_only=True)
    try:
        result = con.execute(text).df()
    finally:
        con.close()
    assert len(result) > 0
    assert not result.isna().all(axis=None)


def test_fold_sizes_agree_with_eval_targets(tiny_warehouse):
    con = connect(tiny_warehouse.warehouse, read_only=True)
    try:
        sizes = con.execute((SQL_DIR / "analysis" / "fold_sizes.sql").read_text()).df()
        users = con.execute(
            "select count(distinct uid) from eval_targets where fold = 'test' and target = 'listen_plus'"
        ).fetchone()[0]
    finally:
        con.close()
    row = sizes[(sizes.fold == "test") & (sizes.target == "listen_plus")]
    assert row.evaluated_users.item() == users > 0
