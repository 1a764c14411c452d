"""The next-song task scored offline: for each listening session of the fold's target window
(``next_song_queries``: its last listen hidden, the ones before it the query), each model's
top-k next songs go to ``next_song_recommendations`` and ``sql/metrics/next_song.sql`` scores
them (HitRate, MRR, NDCG), with bootstrap intervals over sessions.

The models:

* ``next_song``: the transition model the server answers ``POST /next`` with
  (:mod:`recsys.candidates.next_song`, fitted on the fold's ``next_song_transitions``);
* ``popularity``: the items most often listened to next, for every session alike;
* ``itemknn_session``: the sum over the session's listens of ItemKNN's item-item similarity
  (the ``itemknn`` generator fitted on the fold's Listen+ history with its tuned parameters);
* ``most_played``: the user's own items by listens before the cut-off (``train_interactions``
  of the Listen+ target, ties by item id), the same list for each of the user's sessions.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from recsys import state
from recsys.candidates import next_song as next_song_module
from recsys.candidates.base import top_n_sparse
from recsys.candidates.next_song import NextSongModel, session_matrix
from recsys.candidates.registry import make_generator
from recsys.candidates.runner import fold_data_loader
from recsys.candidates.tuned import data_hash, resolve_params
from recsys.columns import Tables
from recsys.config import Settings
from recsys.evaluation.significance import bootstrap_intervals
from recsys.evaluation.sql import run_query
from recsys.pipeline_config import PipelineConfig, as_config
from recsys.tables import write_next_song
from recsys.warehouse import open_warehouse, require_tables, table_exists

MODELS = ("next_song", "popularity", "itemknn_session", "most_played")
COLUMNS = ("model", "metric", "k", "value", "ci_low", "ci_high", "sessions")
KS = (10,)  # the cut-offs ``recsys evaluate`` scores and reports


def _queries(con: duckdb.DuckDBPyConnection, fold: str) -> pd.DataFrame:
    require_tables(con, Tables.next_song_queries)
    return con.execute(f"select uid, session, query_items from {Tables.next_song_queries} "
                       "where fold = ? order by uid, session", [fold]).df()


def _lists(queries: pd.DataFrame, fold: str, model: str, rows: np.ndarray, items: np.ndarray,
           scores: np.ndarray) -> pa.Table:
    """Rows of ``next_song_recommendations`` from ``(row, item, score)`` sorted by row, rank."""
    ranks = np.arange(len(rows)) - np.searchsorted(rows, rows) + 1
    return pa.table({
        "fold": pa.array([fold] * len(rows), pa.string()),
        "model": pa.array([model] * len(rows), pa.string()),
        "uid": pa.array(queries["uid"].to_numpy()[rows], pa.uint32()),
        "session": pa.array(queries["session"].to_numpy()[rows], pa.int32()),
        "item_id": pa.array(items, pa.uint32()),
        "rank": pa.array(ranks, pa.int32()),
        "score": pa.array(scores, pa.float64()),
    })  # fmt: skip


def _itemknn_session(con, config: PipelineConfig, fold: str, params: dict,
                     sessions: Sequence[np.ndarray], k: int):
    data = fold_data_loader(con, config, ["itemknn"], "listen_plus")(fold)
    model = make_generator("itemknn", seed=config.seed, params=params).fit(data)
    query = session_matrix(sessions, data.items)
    row, col, score = top_n_sparse(sp.csr_matrix(query @ model.similarity), k)
    return row, data.items.to_external(col), score


def _most_played(fold: str, k: int):
    def insert(con: duckdb.DuckDBPyConnection, table: str) -> None:
        con.execute(f"""
            insert into "{table}" (fold, model, uid, session, item_id, rank, score)
            with ranked as (
                select uid, item_id, listen_events,
                       row_number() over (partition by uid
                                          order by listen_events desc, item_id) as rank
                from {Tables.train_interactions}
                where fold = $fold and target = 'listen_plus' and listen_events > 0
            )
            select $fold, 'most_played', q.uid, q.session, r.item_id, r.rank, r.listen_events
            from {Tables.next_song_queries} as q
            inner join ranked as r on r.uid = q.uid and r.rank <= $k
            where q.fold = $fold
            """, {"fold": fold, "k": k})
    return insert


def lists_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings,
                      config: PipelineConfig, fold: str, k: int,
                      itemknn: dict | None = None) -> str:
    """What the next-song lists of ``fold`` are computed from: the build (sessions, transitions,
    queries), ItemKNN's parameters, the seed, the list length and this module's code."""
    if itemknn is None:
        itemknn = resolve_params(con, config, "listen_plus", "itemknn", data_hash(settings))
    return state.digest({"build": state.current_build(con), "fold": fold, "k": k,
                         "itemknn": itemknn, "seed": config.seed,
                         "code": state.files_hash(Path(__file__),
                                                  Path(next_song_module.__file__))})


def current_lists(con: duckdb.DuckDBPyConnection, fold: str, fingerprint: str) -> bool:
    """Whether every model's lists of ``fold`` were written from ``fingerprint``."""
    return all(state.recorded(con, Tables.next_song_recommendations,
                              {"fold": fold, "model": m}) == fingerprint for m in MODELS)


def write_next_song_lists(settings: Settings, config: PipelineConfig | dict, fold: str, k: int,
                          *, reuse: bool = False) -> dict[str, int]:
    """Each model's top ``k`` for every session of ``fold``; rows written per model. With
    ``reuse``, nothing is written when the lists of these inputs are there (empty result)."""
    config = as_config(config)
    with open_warehouse(settings) as con:
        itemknn = resolve_params(con, config, "listen_plus", "itemknn", data_hash(settings))
        fingerprint = lists_fingerprint(con, settings, config, fold, k, itemknn)
        if reuse and table_exists(con, Tables.next_song_recommendations) \
                and current_lists(con, fold, fingerprint):
            return {}
        queries = _queries(con, fold)
        sessions = [np.asarray(q, dtype=np.uint32) for q in queries["query_items"]]
        transitions = NextSongModel.from_warehouse(con, fold)
        lists = {
            "next_song": transitions.next_many(sessions, k),
            "popularity": transitions.next_many([[] for _ in sessions], k),
            "itemknn_session": _itemknn_session(con, config, fold, itemknn, sessions, k),
        }
        rows = {model: _lists(queries, fold, model, *out) for model, out in lists.items()}
        rows["most_played"] = _most_played(fold, k)
        return write_next_song(con, rows, fold, fingerprint)  # all four or none


def score_next_song(con: duckdb.DuckDBPyConnection, config: PipelineConfig | dict, fold: str,
                    ks: Sequence[int] = KS) -> pd.DataFrame:
    """``sql/metrics/next_song.sql`` over the lists of :func:`write_next_song_lists`: per model,
    metric and k the mean over sessions with its bootstrap interval (resampled sessions)."""
    config = as_config(config)
    per_session = run_query(con, "next_song", {"fold": fold, "ks": list(ks)})
    if per_session.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    per_session["uid"] = per_session.groupby(["uid", "session"]).ngroup()  # resample sessions
    means = per_session.groupby(["model", "metric", "k"], as_index=False).agg(
        value=("value", "mean"), sessions=("value", "size"))
    intervals = bootstrap_intervals(per_session[["uid", "model", "metric", "k", "value"]],
                                    samples=config.evaluation.bootstrap_samples,
                                    confidence=config.evaluation.confidence, seed=config.seed,
                                    key=f"next_song/{fold}")
    out = means.merge(intervals, on=["model", "metric", "k"], how="left")
    order = {m: i for i, m in enumerate(MODELS)}
    out = out.sort_values(["k", "metric", "model"], key=lambda c: c.map(order) if c.name == "model" else c)
    return out[list(COLUMNS)].reset_index(drop=True)


def reported_next_song(con: duckdb.DuckDBPyConnection, settings: Settings,
                       config: PipelineConfig | dict, fold: str) -> pd.DataFrame | None:
    """The next-song table ``recsys evaluate`` reports: :data:`KS` scored from the fold's lists
    when every model's lists are there and current; None otherwise."""
    config = as_config(config)
    if not table_exists(con, Tables.next_song_recommendations) or not current_lists(
            con, fold, lists_fingerprint(con, settings, config, fold, max(KS))):
        return None
    return score_next_song(con, config, fold, KS)


def run_next_song(settings: Settings, config: PipelineConfig | dict, fold: str,
                  ks: Sequence[int] = KS) -> pd.DataFrame:
    """Write the lists of length ``max(ks)`` (reused when current) and score them."""
    write_next_song_lists(settings, config, fold, max(ks), reuse=True)
    with open_warehouse(settings, read_only=True) as con:
        return score_next_song(con, config, fold, ks)


def next_song_markdown(table: pd.DataFrame) -> str:
    """One row per model, one column per (metric, k): the mean [95% interval], as markdown.

    >>> t = pd.DataFrame({"model": ["next_song"], "metric": ["ndcg"], "k": [10], "value": [0.5],
    ...                   "ci_low": [0.4], "ci_high": [0.6], "sessions": [7]})
    >>> print(next_song_markdown(t))
    | model (7 sessions) | ndcg@10 |
    |---|---|
    | next_song | 0.5000 [0.400, 0.600] |
    """
    if table.empty:
        return "(no next-song queries on this fold)"
    columns = list(dict.fromkeys(f"{m}@{k}" for m, k in zip(table["metric"], table["k"], strict=True)))
    cells = {(r.model, f"{r.metric}@{r.k}"): f"{r.value:.4f} [{r.ci_low:.3f}, {r.ci_high:.3f}]"
             for r in table.itertuples()}
    models = [m for m in MODELS if m in set(table["model"])]
    lines = [f"| model ({int(table['sessions'].max())} sessions) | " + " | ".join(columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    lines += [f"| {m} | " + " | ".join(cells.get((m, c), "") for c in columns) + " |" for m in models]
    return "\n".join(lines)
