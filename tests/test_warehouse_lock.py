"""DuckDB's lock held for a whole run (``recsys.warehouse.holding``): between the run's own
connections, and across the rename of a staged build over the warehouse, an outside writer gets
DuckDB's lock error instead of the warehouse."""

from __future__ import annotations

import subprocess
import sys

import duckdb

from recsys.config import Settings
from recsys.run_lock import holds_run_lock
from recsys.warehouse import connect, holding, open_warehouse, replace_file

OUTSIDE_WRITER = ("import duckdb, sys\n"
                  "duckdb.connect(sys.argv[1]).execute('create table outside as select 1 as x')\n")


def outside_write(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", OUTSIDE_WRITER, str(path)], capture_output=True,
                          text=True, timeout=120)


def settings_in(tmp_path) -> Settings:
    return Settings(warehouse=tmp_path / "w.duckdb", reports_dir=tmp_path / "reports",
                    temp_dir=tmp_path / "tmp", memory_limit="1GB", threads=1)


def tables(path) -> set[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    finally:
        con.close()


def test_an_outside_writer_between_two_connections_of_a_run_gets_the_lock_error(tmp_path):
    settings = settings_in(tmp_path)
    duckdb.connect(str(settings.warehouse)).close()

    @holds_run_lock("a test run", built=False)
    def run(settings):
        with open_warehouse(settings) as con:
            con.execute("create table first as select 1 as x")
        between = outside_write(settings.warehouse)  # no connection of the run is open here
        with open_warehouse(settings, read_only=True) as con:
            con.execute("create table second as select 2 as x")
        return between

    between = run(settings)
    assert between.returncode != 0
    assert "Conflicting lock is held" in between.stderr, between.stderr[-2000:]
    assert tables(settings.warehouse) == {"first", "second"}
    assert outside_write(settings.warehouse).returncode == 0  # free again after the run


def test_the_lock_follows_a_staged_file_renamed_over_the_warehouse(tmp_path):
    settings = settings_in(tmp_path)
    duckdb.connect(str(settings.warehouse)).execute("create table old as select 1 as x").close()
    staged = tmp_path / "w.duckdb.building"
    duckdb.connect(str(staged)).execute("create table new as select 2 as x").close()
    with holding(settings):
        replace_file(staged, settings.warehouse)
        after = outside_write(settings.warehouse)
        con = connect(settings.warehouse)
        try:  # the run reads the new file, not the one it held before the rename
            assert con.execute("select x from new").fetchone() == (2,)
        finally:
            con.close()
    assert after.returncode != 0 and "Conflicting lock is held" in after.stderr
    assert tables(settings.warehouse) == {"new"}


def test_a_warehouse_created_during_the_run_is_held_from_then_on(tmp_path):
    settings = settings_in(tmp_path)
    with holding(settings):
        con = connect(settings.warehouse, must_exist=False)
        con.execute("create table made as select 1 as x")
        con.close()
        during = outside_write(settings.warehouse)
    assert during.returncode != 0 and "Conflicting lock is held" in during.stderr
    assert tables(settings.warehouse) == {"made"}
