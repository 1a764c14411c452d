"""Reading a fold's marts for the generators and writing ``candidates`` / ``candidate_params``.

Reads: ``folds``, ``train_interactions``, ``eval_targets``, ``item_embeddings`` and, for
event-level needs, ``history_events`` (marts) filtered to ``timestamp < history_end_ts``. Writes
go through :mod:`recsys.tables` (one writer per table, one transaction per (fold, target, model)).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from recsys import state, tables
from recsys.candidates.base import Recommendations
from recsys.candidates.data import INTERACTION_COLUMNS, KEY_COLUMNS, TrainData, embedding_matrix
from recsys.columns import TARGETS, Tables
from recsys.errors import ConfigError, WarehouseError
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.protocol import listen_plus_threshold
from recsys.warehouse import check_fold, require_tables

PARAMS_TABLE = Tables.candidate_params


def check_fold_target(con: duckdb.DuckDBPyConnection, fold: str, target: str) -> None:
    """Fail unless ``fold`` is a fold of the warehouse and ``target`` a target type."""
    if target not in TARGETS:
        raise ConfigError(f"Unknown target {target!r}. Valid targets: {', '.join(TARGETS)}.")
    check_fold(con, fold)


def history_end(con: duckdb.DuckDBPyConnection, fold: str) -> int:
    row = con.execute(f"select history_end_ts from {Tables.folds} where fold = ?", [fold]).fetchone()
    if row is None:
        raise WarehouseError(f"Table folds has no row for fold {fold!r}. Rebuild the marts (dbt build).")
    return int(row[0])


def _fetch_arrays(con: duckdb.DuckDBPyConnection, sql: str, params) -> dict[str, np.ndarray]:
    """Query result as NumPy arrays; NULLs of a numeric column become NaN (as ``.df()`` had them)."""
    out = {}
    for name, values in con.execute(sql, params).fetchnumpy().items():
        if isinstance(values, np.ma.MaskedArray):
            values = values.astype(np.float64).filled(np.nan) if values.mask.any() else values.data
        out[name] = np.asarray(values)
    return out


def load_events(
    con: duckdb.DuckDBPyConnection, target: str, cut: int
) -> dict[str, np.ndarray]:
    """Target-type events (``uid, item_id, timestamp``) before ``cut``, as NumPy arrays.

    Read from the ``history_events`` mart (dbt decides what a Listen+ event is). Load once up to
    the latest fold's cut-off and hand the result to :func:`load_train_data` of every fold: each
    fold keeps only its own events (``timestamp < history_end_ts``).
    """
    require_tables(con, Tables.history_events)
    sql = (f"select uid, item_id, timestamp from {Tables.history_events} "
           "where target = $target and timestamp < $cut")
    return _fetch_arrays(con, sql, {"target": target, "cut": cut})


def load_embeddings(con: duckdb.DuckDBPyConnection) -> tuple[np.ndarray, np.ndarray]:
    """``(item_ids, (n, d) float32)`` of every item of ``train_interactions`` with an embedding.

    One read shared by every (fold, target) of a process (about 0.5 GB at 50m).
    """
    require_tables(con, Tables.item_embeddings, Tables.train_interactions)
    table = con.execute(
        f"select item_id, normalized_embed from {Tables.item_embeddings} where item_id in "
        f"(select distinct item_id from {Tables.train_interactions})"
    ).to_arrow_table()
    return embedding_matrix(table)


def load_item_groups(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """``item_id``, ``artist``, ``album`` (-1: none) of every item of ``train_interactions``, from
    ``int_items_mapped`` (an item's primary artist and album). One read shared by every fold."""
    require_tables(con, Tables.train_interactions, Tables.items_mapped)
    return _fetch_arrays(
        con,
        "select item_id, coalesce(artist_id::bigint, -1) as artist, "
        f"coalesce(album_id::bigint, -1) as album from {Tables.items_mapped} where item_id in "
        f"(select distinct item_id from {Tables.train_interactions}) order by item_id", [])


def load_train_data(
    con: duckdb.DuckDBPyConnection,
    fold: str,
    target: str,
    *,
    load: Iterable[str] = (),
    columns: Iterable[str] | None = None,
    events: dict[str, np.ndarray] | None = None,
    embeddings: tuple[np.ndarray, np.ndarray] | None = None,
    groups: dict[str, np.ndarray] | None = None,
) -> TrainData:
    """The (fold, target) training data; ``load`` adds ``"events"``, ``"embeddings"`` and/or
    ``"groups"`` (items' artists and albums).

    ``columns``: the ``train_interactions`` columns to fetch besides uid and item_id (default:
    all of them; ``CandidateGenerator.needed_columns()`` says what a generator reads).
    ``events`` / ``embeddings`` / ``groups``: results of :func:`load_events` /
    :func:`load_embeddings` / :func:`load_item_groups` already in memory (shared across folds),
    used instead of reading them again.
    """
    check_fold_target(con, fold, target)
    load = set(load)
    require_tables(con, Tables.folds, Tables.train_interactions)
    cut = history_end(con, fold)
    wanted = INTERACTION_COLUMNS if columns is None else set(columns)
    unknown = sorted(set(wanted) - set(INTERACTION_COLUMNS))
    if unknown:
        raise ConfigError(
            f"Unknown train_interactions column(s) {', '.join(unknown)}. "
            f"Valid: {', '.join(INTERACTION_COLUMNS)}."
        )
    select = [c for c in INTERACTION_COLUMNS if c in KEY_COLUMNS or c in wanted]
    interactions = _fetch_arrays(
        con,
        f"select {', '.join(select)} from {Tables.train_interactions} where fold = ? and target = ?",
        [fold, target],
    )
    if len(interactions[KEY_COLUMNS[0]]) == 0:
        raise WarehouseError(
            f"train_interactions has no rows for fold={fold!r}, target={target!r}. "
            "Check the data and rebuild the marts (dbt build)."
        )
    if "events" in load and events is None:
        events = load_events(con, target, cut)
    if "embeddings" in load and embeddings is None:
        embeddings = load_embeddings(con)
    if "groups" in load and groups is None:
        groups = load_item_groups(con)
    return TrainData.from_frames(
        interactions, cut,
        events=events if "events" in load else None,
        embeddings=embeddings if "embeddings" in load else None,
        groups=groups if "groups" in load else None,
        fold=fold, target=target,
    )  # fmt: skip


def eval_targets(con: duckdb.DuckDBPyConnection, fold: str, target: str) -> pd.DataFrame:
    """Distinct (uid, item_id) targets of the fold with ``is_repeat`` (1: the user had listened
    to the item before the cut-off); its distinct uids are the users to serve."""
    check_fold_target(con, fold, target)
    require_tables(con, Tables.eval_targets)
    return con.execute(
        f"select uid, item_id, max(is_repeat) as is_repeat from {Tables.eval_targets} "
        "where fold = ? and target = ? group by uid, item_id order by uid, item_id",
        [fold, target],
    ).df()


def eval_users(con: duckdb.DuckDBPyConnection, fold: str, target: str) -> np.ndarray:
    check_fold_target(con, fold, target)
    require_tables(con, Tables.eval_targets)
    rows = con.execute(
        f"select distinct uid from {Tables.eval_targets} where fold = ? and target = ? order by uid",
        [fold, target],
    ).fetchnumpy()
    return np.asarray(rows["uid"], dtype=np.uint32)


def candidates_table(fold: str, target: str, model: str, recs: Recommendations) -> pa.Table:
    """A generator's lists as rows of ``candidates`` (or ``recommendations``: the same columns)."""
    return tables.ranked_table(fold, target, model, recs.uid, recs.item_id, recs.ranks(), recs.score)


def write_candidates(
    con: duckdb.DuckDBPyConnection, fold: str, target: str, model: str, recs: Recommendations,
    fingerprint: str | None = None,
) -> int:
    """Replace the (fold, target, model) slice of ``candidates`` in one transaction, with the
    ``fingerprint`` of what it was fitted from (:func:`candidate_fingerprint`)."""
    return tables.write_candidates(con, candidates_table(fold, target, model, recs), fold, target,
                                   model, fingerprint)


def candidate_fingerprint(con: duckdb.DuckDBPyConnection, config: PipelineConfig | dict, fold: str,
                          target: str, model: str, params: dict, seed: int, top_n: int, *,
                          every_user: bool) -> str:
    """What a (fold, target, model) slice of ``candidates`` depends on: the warehouse build, the
    generator's parameters and seed, the list length and which users it serves."""
    config = as_config(config)
    users = "every user with history" if every_user else {
        "max_train_users": config.ranker.max_train_users, "seed": config.seed}
    return state.digest({
        "build": state.current_build(con), "fold": fold, "target": target, "model": model,
        "params": params, "seed": int(seed), "top_n": int(top_n), "users": users,
        "listen_plus_threshold": listen_plus_threshold()})


def candidate_users(con: duckdb.DuckDBPyConnection, config: PipelineConfig | dict, fold: str,
                    target: str, *, every_user: bool) -> np.ndarray:
    """The users a generator serves on ``fold``, sorted.

    ``every_user`` (the evaluated fold): every user with target-type history
    (:func:`ranked_users`). Otherwise (a ranker training fold) the evaluated users, or a seeded
    sample of ``ranker.max_train_users`` of them (the config's ``seed``; the same sample for
    every generator, so the merged candidates of a sampled user are complete).
    """
    if every_user:
        return ranked_users(con, fold, target)
    config = as_config(config)
    users = eval_users(con, fold, target)
    limit = config.ranker.max_train_users
    if limit is None or len(users) <= int(limit):
        return users
    rng = np.random.default_rng([config.seed, 11])
    return np.sort(rng.choice(users, size=int(limit), replace=False))


def fresh_candidate_slices(con: duckdb.DuckDBPyConnection,
                           expected: dict[tuple[str, str, str], str]) -> set[tuple[str, str, str]]:
    """The (fold, target, model) slices of ``expected`` whose ``candidates`` rows were written with
    the expected fingerprint (:func:`candidate_fingerprint`); others must be fitted again."""
    keys = {(f, t, m): {"fold": f, "target": t, "model": m} for f, t, m in expected}
    fresh = state.fresh_slices(con, Tables.candidates,
                               [(keys[s], fp) for s, fp in expected.items()])
    return {s for s in expected if state.slice_key(keys[s]) in fresh}


def ranked_users(con: duckdb.DuckDBPyConnection, fold: str, target: str) -> np.ndarray:
    """Every user with target-type history in the fold (evaluated or not), sorted.

    The official Yambda code ranks items for all of them; its Coverage counts their lists.
    The evaluated users (:func:`eval_users`) are a subset.
    """
    check_fold_target(con, fold, target)
    require_tables(con, Tables.train_interactions)
    rows = con.execute(
        f"select distinct uid from {Tables.train_interactions} "
        "where fold = ? and target = ? and target_events > 0 order by uid",
        [fold, target],
    ).fetchnumpy()
    return np.asarray(rows["uid"], dtype=np.uint32)


def tuned_params(
    con: duckdb.DuckDBPyConnection, target: str, model: str, fingerprint: str
) -> dict | None:
    """The saved tuned hyperparameters of (target, model) if tuned on these exact inputs
    (same ``fingerprint``), else None."""
    if not con.execute(
        "select count(*) from information_schema.columns where table_name = ? "
        "and column_name = 'fingerprint'", [PARAMS_TABLE]
    ).fetchone()[0]:
        return None
    row = con.execute(
        f"select params from {PARAMS_TABLE} where target = ? and model = ? and fingerprint = ?",
        [target, model, fingerprint],
    ).fetchone()
    return None if row is None else json.loads(row[0])


def tuning_rows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every saved tuning row (target, model, fingerprint, params, metric, value, ...)."""
    if not con.execute(
        "select count(*) from information_schema.columns where table_name = ? "
        "and column_name = 'fingerprint'", [PARAMS_TABLE]
    ).fetchone()[0]:
        return pd.DataFrame(columns=["target", "model", "fingerprint", "params", "metric", "value",
                                     "default_value", "trials", "sampler", "seed", "seconds"])
    return con.execute(f"select * exclude (tuned_at) from {PARAMS_TABLE} order by target, model").df()


def drop_candidate_slices(con: duckdb.DuckDBPyConnection, target: str, model: str) -> None:
    """Delete every fold's candidates of (target, model): they were fitted with other parameters."""
    if con.execute("select count(*) from information_schema.tables where table_name = ?",
                   [Tables.candidates]).fetchone()[0]:
        con.execute(f"delete from {Tables.candidates} where target = ? and model = ?", [target, model])
    state.forget_slices(con, Tables.candidates, {"target": target, "model": model})
