"""What the Python-written tables were computed from: the build's fingerprint and each slice's.

A warehouse build is identified by the fingerprint of its inputs: the input files (their parquet
footers), the dbt vars, :data:`SCHEMA_VERSION` (bump it when a Python table's layout or
meaning changes) and the dbt project's files (:func:`project_hash`) as of the last build that
rebuilt a model. ``recsys build`` records it in ``build_state`` (one row, with dbt's manifest of
that build) inside the staged warehouse, before the staged file replaces the old one. When it
differs from the fingerprint of the build before (or none was recorded), every Python-written
table is dropped in the same step: candidates, tuned parameters, recommendations and metrics of
other data are never read again. The next ``recsys build`` with the same inputs does nothing
(``recsys.dbt_runner.build``), and one after a change of the project's files only rebuilds the
models dbt's state comparison finds modified, with what depends on them.

Within one build, a slice of a Python-written table (``candidates`` of one fold, target and model)
records the fingerprint of what it was computed from in ``slice_state`` (table, slice key,
fingerprint), in the same transaction as its rows (``recsys.tables.replace_slices``). A stage
that reuses slices reads only those whose fingerprint equals the one it would compute now
(:func:`fresh_slices`), so a change of parameters, seed, list length or user sample refits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from recsys.schema import EVENT_FILES, ROOT_FILES

# bump when a Python-written table's layout or meaning changes: every build then starts clean
SCHEMA_VERSION = 1
BUILD_STATE = "build_state"
SLICE_STATE = "slice_state"
# dbt vars that shape candidate_features only (checked against `candidates` by content, not here)
FEATURE_ONLY_VARS = ("candidate_max_rank", "candidate_models", "ranker_models")
SLICE_STATE_DDL = f"""
create table if not exists {SLICE_STATE} (
    table_name varchar, slice_key varchar, fingerprint varchar
)"""


def data_profile(data_dir: Path, size: str) -> dict:
    """Rows and bytes of every input file (parquet footers only: fast at any size), and a
    fingerprint over the footers (changes when any file's content or layout changes)."""
    files = {}
    fingerprint = hashlib.sha256()
    names = [Path("flat") / size / n for n in EVENT_FILES] + [Path(n) for n in ROOT_FILES]
    for name in names:
        path = Path(data_dir) / name
        if not path.is_file():
            files[str(name)] = None
            continue
        try:
            meta = pq.read_metadata(path)
        except Exception as exc:  # an unreadable file is recorded, not fatal: it was validated before
            files[str(name)] = {"error": str(exc)}
            continue
        files[str(name)] = {"rows": meta.num_rows, "bytes": path.stat().st_size}
        with path.open("rb") as handle:  # the footer: schema, row groups, column statistics
            handle.seek(max(0, path.stat().st_size - 65536))
            fingerprint.update(str(name).encode() + handle.read())
    return {"data_dir": str(Path(data_dir).resolve()), "size": size, "files": files,
            "footer_sha256": fingerprint.hexdigest()}


# what in dbt_project/ does not shape the warehouse: dbt's outputs and the project's readme
_NOT_PROJECT = {"target", "logs", "dbt_packages", ".user.yml", "README.md"}


def project_hash(project_dir: Path) -> str:
    """The sha256 of the dbt project's files (models, macros, tests, dbt_project.yml, profiles):
    their paths and bytes, leaving out dbt's outputs (:data:`_NOT_PROJECT`)."""
    return files_hash(Path(project_dir), skip=_NOT_PROJECT)


def files_hash(*roots: Path, skip: Iterable[str] = ()) -> str:
    """The sha256 of the files under ``roots`` (a file counts as itself): their paths relative to
    their root and their bytes; a first path part in ``skip`` and ``__pycache__`` are left out."""
    skip = set(skip)
    sha = hashlib.sha256()
    for root in map(Path, roots):
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            relative = path.relative_to(root) if path != root else Path(path.name)
            if relative.parts[0] in skip or "__pycache__" in relative.parts:
                continue
            sha.update(relative.as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return sha.hexdigest()


def digest(inputs: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able mapping."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:16]


def build_fingerprint(data_hash: str, dbt_vars: Mapping[str, Any], project: str | None = None) -> str:
    """The fingerprint of a build: input files, dbt vars, the schema version and ``project``
    (the dbt project's files the marts were built with; None: the inputs alone)."""
    inputs = {"data": data_hash, "vars": dict(dbt_vars), "schema": SCHEMA_VERSION}
    if project is not None:
        inputs["project"] = project
    return digest(inputs)


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = ?",
                            [table]).fetchone()[0])


def record_build(path: Path, fingerprint: str, details: Mapping[str, Any],
                 drop: Iterable[str], manifest: str | None = None) -> list[str]:
    """Record ``fingerprint`` as the build of the warehouse file at ``path``; when it differs from
    the recorded one (or none is), drop the tables ``drop`` (every Python-written table:
    ``recsys.tables.PYTHON_TABLES``). ``manifest``: dbt's manifest.json of the build (None keeps
    the one recorded before). Returns the dropped tables."""
    from recsys.warehouse import connect

    con = connect(path, must_exist=False)
    try:
        previous = current_build(con)
        if manifest is None:
            manifest = build_manifest(con)
        dropped = _drop(con, drop) if previous != fingerprint else []
        con.execute(f"create or replace table {BUILD_STATE} (fingerprint varchar, details varchar, "
                    "schema_version integer, manifest varchar)")
        con.execute(f"insert into {BUILD_STATE} values (?, ?, ?, ?)",
                    [fingerprint, json.dumps(dict(details), sort_keys=True, default=str),
                     SCHEMA_VERSION, manifest])
        con.execute("checkpoint")
        return dropped
    finally:
        con.close()


def drop_tables(path: Path, names: Iterable[str]) -> list[str]:
    """Drop the tables ``names`` that exist in the warehouse file at ``path``; returns them."""
    from recsys.warehouse import connect

    con = connect(path)
    try:
        return _drop(con, names)
    finally:
        con.close()


def _drop(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> list[str]:
    dropped = []
    for table in names:
        if _exists(con, table):
            con.execute(f'drop table "{table}"')
            dropped.append(table)
    return dropped


def build_manifest(con: duckdb.DuckDBPyConnection) -> str | None:
    """dbt's manifest.json (text) of the build the warehouse holds; None if none was recorded."""
    if not _exists(con, BUILD_STATE):
        return None
    columns = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_name = ?",
        [BUILD_STATE]).fetchall()}
    if "manifest" not in columns:  # recorded before manifests were
        return None
    row = con.execute(f"select manifest from {BUILD_STATE}").fetchone()
    return None if row is None else row[0]


def build_details(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """What ``recsys build`` recorded about the build (data_dir, size, data_sha256, vars); None
    for a warehouse that no ``recsys build`` wrote."""
    if not _exists(con, BUILD_STATE):
        return None
    row = con.execute(f"select details from {BUILD_STATE}").fetchone()
    return None if row is None else json.loads(row[0])


def require_built_from(con: duckdb.DuckDBPyConnection, data_dir: Path, size: str,
                       data_sha256: str) -> None:
    """Refuse a warehouse built from another size or other input files than the ones the
    settings name now (``data_sha256``: :func:`data_profile`'s footer hash),
    naming both and the command that rebuilds. A warehouse no ``recsys build`` wrote passes."""
    from recsys.errors import WarehouseError

    details = build_details(con)
    if details is None:
        return
    built_size, built_hash = details.get("size"), details.get("data_sha256")
    if built_size == size and built_hash in (None, data_sha256):
        return
    what = (f"size {built_size}, not {size}" if built_size != size else
            "input files that have changed since (their parquet footers differ)")
    raise WarehouseError(
        f"The warehouse was built from {details.get('data_dir')} ({what}); RECSYS_DATA_DIR="
        f"{data_dir} and RECSYS_SIZE={size} name other data. Run `recsys build` to build it from "
        f"these files (or set RECSYS_DATA_DIR / RECSYS_SIZE back to the build's: "
        f"{details.get('data_dir')}, {built_size}); nothing was changed.")


def data_hash(settings) -> str:
    """The fingerprint of the input files ``settings`` (``recsys.config.Settings``) name."""
    return data_profile(settings.data_dir, settings.size)["footer_sha256"]


def require_current_build(con: duckdb.DuckDBPyConnection, settings) -> None:
    """:func:`require_built_from` for the data ``settings`` name (``recsys.run_lock`` calls it
    at the start of every writing run but a build)."""
    require_built_from(con, settings.data_dir, settings.size, data_hash(settings))


def current_build(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint of the build the warehouse holds (None before ``recsys build`` recorded one)."""
    if not _exists(con, BUILD_STATE):
        return None
    row = con.execute(f"select fingerprint from {BUILD_STATE}").fetchone()
    return None if row is None else str(row[0])


def slice_key(key: Mapping[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in key.items()}, sort_keys=True)


def record_slice(con: duckdb.DuckDBPyConnection, table: str, key: Mapping[str, Any],
                 fingerprint: str) -> None:
    """Record ``fingerprint`` for the slice ``key`` of ``table`` (call inside the slice's
    transaction: ``recsys.tables.replace_slices`` does)."""
    con.execute(SLICE_STATE_DDL)
    k = slice_key(key)
    con.execute(f"delete from {SLICE_STATE} where table_name = ? and slice_key = ?", [table, k])
    con.execute(f"insert into {SLICE_STATE} values (?, ?, ?)", [table, k, fingerprint])


def forget_slice(con: duckdb.DuckDBPyConnection, table: str, key: Mapping[str, Any]) -> None:
    """Drop the recorded fingerprint of the slice ``key`` of ``table`` (if any)."""
    con.execute(f"delete from {SLICE_STATE} where table_name = ? and slice_key = ?",
                [table, slice_key(key)])


def forget_slices(con: duckdb.DuckDBPyConnection, table: str, match: Mapping[str, Any]) -> None:
    """Drop the recorded fingerprints of ``table``'s slices whose key contains ``match`` (a list
    value: any of its values)."""
    if not _exists(con, SLICE_STATE):
        return
    where = "".join(f" and list_contains(?, json_extract_string(slice_key, '$.{name}'))"
                    for name in match)
    con.execute(f"delete from {SLICE_STATE} where table_name = ?{where}",
                [table, *([str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]
                          for v in match.values())])


def fresh_slices(con: duckdb.DuckDBPyConnection, table: str,
                 expected: Iterable[tuple[Mapping[str, Any], str]]) -> set[str]:
    """Slice keys (:func:`slice_key`) of ``table`` whose recorded fingerprint equals the expected
    one (``expected``: ``(key, fingerprint)`` pairs); a slice without a record is not fresh."""
    recorded = recorded_slices(con, table)
    out = set()
    for key, fingerprint in expected:
        k = slice_key(key)
        if recorded.get(k) == fingerprint:
            out.add(k)
    return out


def recorded_slices(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Slice key (:func:`slice_key`) -> recorded fingerprint of every slice of ``table``."""
    if not _exists(con, SLICE_STATE):
        return {}
    return dict(con.execute(f"select slice_key, fingerprint from {SLICE_STATE} "
                            "where table_name = ?", [table]).fetchall())


def recorded(con: duckdb.DuckDBPyConnection, table: str, key: Mapping[str, Any]) -> str | None:
    """The fingerprint recorded for the slice ``key`` of ``table`` (None: none recorded)."""
    if not _exists(con, SLICE_STATE):
        return None
    row = con.execute(f"select fingerprint from {SLICE_STATE} where table_name = ? and slice_key = ?",
                      [table, slice_key(key)]).fetchone()
    return None if row is None else str(row[0])


def feature_mart_fingerprint(dbt_vars: Mapping[str, Any] | None) -> str:
    """The fingerprint of the dbt vars that shape ``candidate_features`` (:data:`FEATURE_ONLY_VARS`)."""
    given = dict(dbt_vars or {})
    return digest({k: given.get(k) for k in FEATURE_ONLY_VARS})


def record_feature_mart(con: duckdb.DuckDBPyConnection, dbt_vars: Mapping[str, Any] | None) -> None:
    """Record the vars ``candidate_features`` was just built with (``recsys.dbt_runner.build``)."""
    from recsys.columns import Tables

    record_slice(con, Tables.candidate_features, {}, feature_mart_fingerprint(dbt_vars))


def feature_mart_current(con: duckdb.DuckDBPyConnection, dbt_vars: Mapping[str, Any]) -> bool:
    """Whether ``candidate_features`` was last built with these vars (the merged generators, the
    depth kept): a mart built by hand or for another config is not, whatever its rows are."""
    from recsys.columns import Tables

    return recorded(con, Tables.candidate_features, {}) == feature_mart_fingerprint(dbt_vars)


def recommendation_fingerprint(con: duckdb.DuckDBPyConnection, fold: str, target: str,
                               sources: Iterable[str], top_k: int, extra: Any = None) -> str | None:
    """What a ``recommendations`` slice is computed from: the recorded fingerprints of the
    ``candidates`` slices it was made of (``sources``: the generator itself, or every generator
    the ranker merged), the list depth and ``extra`` (e.g. the ranker's model file). None when a
    source slice has no recorded fingerprint."""
    from recsys.columns import Tables

    inputs = {}
    for name in sorted(sources):
        fp = recorded(con, Tables.candidates, {"fold": fold, "target": target, "model": name})
        if fp is None:
            return None
        inputs[name] = fp
    return digest({"candidates": inputs, "top_k": int(top_k), "extra": extra})
