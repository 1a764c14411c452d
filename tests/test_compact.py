"""recsys.warehouse.compact: a warehouse with many freed blocks is rewritten into a smaller file
with the same tables and views, inside a run's hold of the file or outside one."""

from __future__ import annotations

import duckdb
import pytest

from recsys.config import Settings
from recsys.warehouse import compact, connect, file_usage, holding


def _bloated(tmp_path) -> Settings:
    settings = Settings(warehouse=tmp_path / "w.duckdb", temp_dir=tmp_path / "tmp",
                        memory_limit="1GB", threads=1)
    with duckdb.connect(str(settings.warehouse)) as con:
        # an old version written first and dropped once the new one is in: its blocks are free
        con.execute("create table old as select range as x, random() as y from range(2000000)")
        con.execute("create table t as select range as x, random() as y from range(2000000)")
        con.execute("drop table old")
        con.execute("create view v as select count(*) as n from main.t")
    return settings


@pytest.mark.parametrize("held", [False, True])
def test_a_warehouse_with_freed_blocks_is_rewritten_smaller(tmp_path, held):
    settings = _bloated(tmp_path)
    before = settings.warehouse.stat().st_size
    if held:
        with holding(settings):
            done = compact(settings, min_bytes=0)
            con = connect(settings.warehouse)  # the run's connection is on the new file
            assert con.execute("select n from v").fetchone() == (2000000,)
            con.close()
    else:
        done = compact(settings, min_bytes=0)
    assert done is not None and done[0] == before and done[1] < before * 0.6
    assert settings.warehouse.stat().st_size == done[1]
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        assert con.execute("select n from v").fetchone() == (2000000,)
        assert con.execute("select sum(x) from t").fetchone() == (sum(range(2000000)),)
        assert file_usage(con)[1] == 0
    assert not settings.warehouse.with_name("w.duckdb.compact").exists()
    assert compact(settings, min_bytes=0) is None  # nothing freed since: nothing to do
