"""The tables Python writes into the warehouse: the DDL of each and its one writer.

dbt owns the marts (``dbt_project/models``); the tables below are what the Python stages and the
SQL metrics compute from them. dbt reads ``candidates`` back (a declared source of the
``candidate_features`` mart), so the lineage runs dbt -> Python -> dbt.

==========================  ==============================================  ======================
table                       columns                                         one slice
==========================  ==============================================  ======================
candidates                  fold, target, model, uid, item_id, rank, score  fold, target, model
candidate_params            target, model, fingerprint, params (JSON),      target, model
                            metric, value, trials, sampler, seed, seconds
recommendations             fold, target, model, uid, item_id, rank, score  fold, target, model
model_runs                  fold, target, model, params, tuned, seconds     fold, target, model
candidate_recall            fold, target, source, recall, targets, repeat_  fold, target
                            recall, discovery_recall
ranker_feature_importance   target, feature, gain                           target
metrics_per_user            fold, target, model, convention, subset,        fold (with metrics)
                            metric, k, uid, value, weight
metrics                     ... metric, k, value, users                     fold
next_song_recommendations   fold, model, uid, session, item_id, rank,      fold, model
                            score
==========================  ==============================================  ======================

Every writer replaces one slice through :func:`replace_slices` (delete and
insert in one transaction; the slice's fingerprint, where it has one, recorded in the same
transaction: ``recsys.state``), so an interrupted run leaves the previous complete slice.
``recsys build`` drops every table here when the build's inputs change (:data:`PYTHON_TABLES`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from recsys import state
from recsys.columns import Tables
from recsys.warehouse import table_exists

_RANKED = ("fold varchar, target varchar, model varchar, uid uinteger, item_id uinteger, "
           "rank integer, score double")
_METRIC_KEYS = "fold varchar, target varchar, model varchar, convention varchar, subset varchar, " \
               "metric varchar, k integer"

DDL: dict[str, str] = {
    Tables.candidates: f"create table if not exists {Tables.candidates} ({_RANKED})",
    Tables.candidate_params: f"""
        create table if not exists {Tables.candidate_params} (
            target varchar, model varchar, fingerprint varchar, params varchar, metric varchar,
            value double, default_value double, trials integer, sampler varchar,
            tuned_on varchar, seed integer, seconds double, tuned_at timestamp
        )""",
    Tables.recommendations: f"create table if not exists {Tables.recommendations} ({_RANKED})",
    Tables.model_runs: f"""
        create table if not exists {Tables.model_runs} (
            fold varchar, target varchar, model varchar, params varchar, tuned boolean,
            fit_seconds double, predict_seconds double
        )""",
    Tables.candidate_recall: f"""
        create table if not exists {Tables.candidate_recall} (
            fold varchar, target varchar, source varchar, recall double, targets bigint,
            repeat_recall double, discovery_recall double
        )""",
    Tables.ranker_feature_importance: f"""
        create table if not exists {Tables.ranker_feature_importance} (
            target varchar, feature varchar, gain double
        )""",
    Tables.metrics_per_user: f"""
        create table if not exists {Tables.metrics_per_user} (
            {_METRIC_KEYS}, uid uinteger, value double, weight double
        )""",
    Tables.metrics: f"""
        create table if not exists {Tables.metrics} ({_METRIC_KEYS}, value double, users bigint)""",
}
# every table Python writes, and the slices' fingerprints: ``recsys build`` drops them when the
# build's inputs change (``recsys.state.record_build``)
DDL[Tables.next_song_recommendations] = (
    f"create table if not exists {Tables.next_song_recommendations} (fold varchar, model varchar, "
    "uid uinteger, session integer, item_id uinteger, rank integer, score double)")
PYTHON_TABLES = (*DDL, state.SLICE_STATE)
# a column each table must have; a copy without it is an older layout, dropped and created anew
_LAYOUT_MARKERS = {Tables.candidate_params: "fingerprint", Tables.metrics_per_user: "convention",
                   Tables.metrics: "convention", Tables.candidate_recall: "discovery_recall"}

Rows = pd.DataFrame | pa.Table | Callable[[duckdb.DuckDBPyConnection, str], None]


@dataclass(frozen=True)
class SliceWrite:
    """One slice to replace: the rows of ``table`` matching ``key`` become ``rows``.

    ``rows`` is anything DuckDB can scan (pandas DataFrame, pyarrow Table) or a function
    ``(con, table)`` that inserts them by SQL. ``fingerprint`` (what the slice was computed from)
    is recorded with it (``recsys.state``).
    """

    table: str
    rows: Any
    key: Mapping[str, object]
    fingerprint: str | None = None


def _slice_filter(key: Mapping[str, object]) -> tuple[str, list]:
    """The SQL condition of a slice key and its values: a column equals a value, or is one of a
    list's values (``{"fold": f, "model": ["a", "b"]}``: two models' rows of fold f)."""
    parts = [f'list_contains(?, "{c}")' if isinstance(v, list | tuple) else f'"{c}" = ?'
             for c, v in key.items()]
    return " and ".join(parts), [list(v) if isinstance(v, list | tuple) else v for v in key.values()]


def replace_slices(con: duckdb.DuckDBPyConnection, writes: Sequence[SliceWrite]) -> list[int]:
    """Replace every slice of ``writes``, in order, in one transaction: a crash leaves the
    previous slices in place. The tables must exist (``recsys.tables.create``). Returns the rows
    written per slice."""
    if any(w.fingerprint is not None for w in writes):
        con.execute(state.SLICE_STATE_DDL)
    track = table_exists(con, state.SLICE_STATE)
    counts = []
    registered = []
    try:
        con.execute("begin transaction")
        try:
            for i, w in enumerate(writes):
                where, values = _slice_filter(w.key)
                con.execute(f'delete from "{w.table}" where {where}', values)
                if callable(w.rows):
                    w.rows(con, w.table)
                    counts.append(int(con.execute(f'select count(*) from "{w.table}" where {where}',
                                                  values).fetchone()[0]))
                else:
                    name = f"_slice_data_{i}"
                    con.register(name, w.rows)
                    registered.append(name)
                    con.execute(f'insert into "{w.table}" by name select * from {name}')
                    counts.append(len(w.rows))
                if w.fingerprint is not None:
                    state.record_slice(con, w.table, w.key, w.fingerprint)
                elif track:  # rows of unknown origin: an older record no longer describes them
                    state.forget_slice(con, w.table, w.key)
            con.execute("commit")
        except BaseException:
            try:
                con.execute("rollback")
            except duckdb.Error:
                pass  # DuckDB aborted the transaction itself (e.g. a full disk): keep its error
            raise
    finally:
        for name in registered:
            con.unregister(name)
    return counts



def create(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create ``table`` if it does not exist; a copy of an older layout is dropped first (its
    rows are derived data: they are computed again)."""
    marker = _LAYOUT_MARKERS.get(table)
    if marker:
        columns = {r[0] for r in con.execute(
            "select column_name from information_schema.columns where table_name = ?", [table]
        ).fetchall()}
        if columns and marker not in columns:
            con.execute(f'drop table "{table}"')
    con.execute(DDL[table])


def _write(con, table: str, rows: Rows, key: Mapping[str, object],
           fingerprint: str | None = None) -> int:
    create(con, table)
    return replace_slices(con, [SliceWrite(table, rows, dict(key), fingerprint)])[0]


def ranked_table(fold: str, target: str, model: str, uid, item_id, rank, score) -> pa.Table:
    """Rows of ``candidates`` or ``recommendations`` (the same columns) as an Arrow table."""
    n = len(uid)
    return pa.table({
        "fold": pa.array([fold] * n, pa.string()),
        "target": pa.array([target] * n, pa.string()),
        "model": pa.array([model] * n, pa.string()),
        "uid": pa.array(uid, pa.uint32()),
        "item_id": pa.array(item_id, pa.uint32()),
        "rank": pa.array(rank, pa.int32()),
        "score": pa.array(score, pa.float64()),
    })  # fmt: skip


def write_candidates(con: duckdb.DuckDBPyConnection, rows: pa.Table, fold: str, target: str,
                     model: str, fingerprint: str | None) -> int:
    """Replace the (fold, target, model) slice of ``candidates``, recording the fingerprint of
    what it was fitted from (``recsys.candidates.store.candidate_fingerprint``)."""
    return _write(con, Tables.candidates, rows, {"fold": fold, "target": target, "model": model},
                  fingerprint)


def write_recommendations(con: duckdb.DuckDBPyConnection, rows: Rows, fold: str, target: str,
                          model: str, fingerprint: str | None = None) -> int:
    """Replace the (fold, target, model) slice of ``recommendations`` with ``rows`` (a frame, or
    a function inserting them by SQL), recording the ``fingerprint`` of what the lists were
    computed from (``recsys.state.recommendation_fingerprint``; None: lists from elsewhere, e.g. a
    user's own). Returns the rows written."""
    return _write(con, Tables.recommendations, rows,
                  {"fold": fold, "target": target, "model": model}, fingerprint)


def write_next_song(con: duckdb.DuckDBPyConnection, lists: Mapping[str, Rows], fold: str,
                    fingerprint: str | None = None) -> dict[str, int]:
    """Replace the (fold, model) slices of ``next_song_recommendations`` (the next-song lists of
    every session of ``next_song_queries``) of every model in ``lists``, in one transaction,
    recording what they were computed from. Returns the rows written per model."""
    create(con, Tables.next_song_recommendations)
    counts = replace_slices(con, [
        SliceWrite(Tables.next_song_recommendations, rows, {"fold": fold, "model": model},
                   fingerprint) for model, rows in lists.items()])
    return dict(zip(lists, counts, strict=True))


def forget_recommendations(con: duckdb.DuckDBPyConnection, fold: str, models: Sequence[str]) -> None:
    """Delete the lists of ``models`` of ``fold`` (every target), their recorded fingerprints and
    their rows of ``metrics_per_user`` and ``metrics``, in one transaction (e.g. seed repeats of
    seeds the config no longer names): nothing is left that scores lists which are gone."""
    def nothing(con: duckdb.DuckDBPyConnection, table: str) -> None:
        return None

    if not models:
        return
    key = {"fold": fold, "model": list(models)}
    writes = [SliceWrite(t, nothing, key) for t in
              (Tables.recommendations, Tables.metrics_per_user, Tables.metrics) if table_exists(con, t)]
    if writes:
        replace_slices(con, writes)
    state.forget_slices(con, Tables.recommendations, key)


def recommendations_from_candidates(fold: str, target: str, model: str, top_k: int
                                    ) -> Callable[[duckdb.DuckDBPyConnection, str], None]:
    """The rows of a generator's ``recommendations`` slice: its top-``top_k`` candidates of every
    ranked user (every user with target-type history: the evaluated users and those without
    targets, whose lists the paper's Coverage counts), as an insert for
    :func:`write_recommendations`."""

    def insert(con: duckdb.DuckDBPyConnection, table: str) -> None:
        con.execute(
            f"""
            insert into "{table}" (fold, target, model, uid, item_id, rank, score)
            select c.fold, c.target, c.model, c.uid, c.item_id, c.rank, c.score
            from {Tables.candidates} as c
            semi join (select distinct uid from {Tables.train_interactions}
                       where fold = $fold and target = $target and target_events > 0) as e
                on e.uid = c.uid
            where c.fold = $fold and c.target = $target and c.model = $model and c.rank <= $k
            """,
            {"fold": fold, "target": target, "model": model, "k": int(top_k)},
        )

    return insert


def write_candidate_params(
    con: duckdb.DuckDBPyConnection, target: str, model: str, params: dict, *,
    fingerprint: str, metric: str, value: float, default_value: float | None, trials: int,
    sampler: str, seed: int, seconds: float, tuned_on: str,
) -> int:  # fmt: skip
    """Record the tuned hyperparameters of (target, model) with the fingerprint of their inputs."""
    row = pd.DataFrame([{
        "target": target, "model": model, "fingerprint": fingerprint,
        "params": json.dumps(params, sort_keys=True), "metric": metric, "value": float(value),
        "default_value": None if default_value is None else float(default_value),
        "trials": int(trials), "sampler": sampler, "tuned_on": tuned_on, "seed": int(seed),
        "seconds": float(seconds), "tuned_at": pd.Timestamp.now(tz="UTC").tz_localize(None),
    }])  # fmt: skip
    return _write(con, Tables.candidate_params, row, {"target": target, "model": model})


def write_model_run(con: duckdb.DuckDBPyConnection, fold: str, target: str, model: str, *,
                    params: dict | None, tuned: bool, fit_seconds: float | None,
                    predict_seconds: float | None) -> int:
    """Record the parameters and the fit / predict time behind a (fold, target, model) slice
    (``None``: counted in another row's time)."""
    row = pd.DataFrame([{
        "fold": fold, "target": target, "model": model,
        "params": json.dumps(params or {}, sort_keys=True, default=str), "tuned": bool(tuned),
        "fit_seconds": None if fit_seconds is None else float(fit_seconds),
        "predict_seconds": None if predict_seconds is None else float(predict_seconds),
    }])  # fmt: skip
    return _write(con, Tables.model_runs, row, {"fold": fold, "target": target, "model": model})


def write_feature_importance(con: duckdb.DuckDBPyConnection, target: str,
                             gains: dict[str, float]) -> int:
    """Replace the ``target`` slice of ``ranker_feature_importance``, largest gain first."""
    frame = pd.DataFrame({"target": target, "feature": list(gains), "gain": list(gains.values())})
    frame = frame.sort_values(["gain", "feature"], ascending=[False, True], ignore_index=True)
    return _write(con, Tables.ranker_feature_importance, frame, {"target": target})


def write_candidate_recall(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, fold: str,
                           target: str) -> int:
    """Replace the (fold, target) slice of ``candidate_recall``."""
    return _write(con, Tables.candidate_recall, frame, {"fold": fold, "target": target})


def write_metrics(con: duckdb.DuckDBPyConnection, fold: str,
                  per_user: Callable[[duckdb.DuckDBPyConnection, str], None],
                  aggregate: Callable[[duckdb.DuckDBPyConnection, str], None],
                  models: Sequence[str] | None = None) -> None:
    """Replace ``fold``'s rows of ``metrics_per_user`` and then ``metrics`` in one transaction:
    ``per_user`` and ``aggregate`` insert them by SQL (``aggregate`` reads the new per-user rows).
    ``models``: only these models' rows are replaced (the others stay as they were)."""
    for table in (Tables.metrics_per_user, Tables.metrics):
        create(con, table)
    key = {"fold": fold} if models is None else {"fold": fold, "model": list(models)}
    replace_slices(con, [SliceWrite(Tables.metrics_per_user, per_user, key),
                         SliceWrite(Tables.metrics, aggregate, key)])
