"""recsys.state: the build's fingerprint, and the fingerprint recorded with each slice."""

from __future__ import annotations

import duckdb
import pandas as pd

from recsys import state
from recsys.tables import PYTHON_TABLES, SliceWrite, replace_slices

DDL = "create table if not exists t (k varchar, v integer)"


def test_record_build_drops_python_tables_only_when_the_inputs_change(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table candidates (x integer)")
        con.execute("create table eval_targets (x integer)")  # a dbt mart: never dropped here
    assert state.record_build(path, "a", {}, PYTHON_TABLES) == ["candidates"]  # no build recorded before
    with duckdb.connect(str(path)) as con:
        con.execute("create table recommendations (x integer)")
    assert state.record_build(path, "a", {}, PYTHON_TABLES) == []  # same inputs
    assert state.record_build(path, "b", {}, PYTHON_TABLES) == ["recommendations"]
    with duckdb.connect(str(path)) as con:
        assert state.current_build(con) == "b"
        assert {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()} \
            == {"eval_targets", "build_state"}


def test_slices_are_fresh_only_with_the_expected_fingerprint(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(DDL)
    key = {"k": "a"}
    replace_slices(con, [SliceWrite("t", pd.DataFrame({"k": ["a"], "v": [1]}), key, "f1")])
    replace_slices(con, [SliceWrite("t", pd.DataFrame({"k": ["b"], "v": [2]}), {"k": "b"})])
    fresh = state.fresh_slices(con, "t", [(key, "f1"), ({"k": "b"}, "f1")])
    assert fresh == {state.slice_key(key)}  # b was written without a fingerprint
    assert state.fresh_slices(con, "t", [(key, "f2")]) == set()
    replace_slices(con, [SliceWrite("t", pd.DataFrame({"k": ["a"], "v": [3]}), key, "f2")])
    assert state.fresh_slices(con, "t", [(key, "f2")]) == {state.slice_key(key)}
    state.forget_slices(con, "t", {"k": "a"})
    assert state.fresh_slices(con, "t", [(key, "f2")]) == set()
    con.close()
