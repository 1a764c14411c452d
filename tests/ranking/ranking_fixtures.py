"""Helpers of the ranking tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import duckdb
import pandas as pd

from recsys.config import Settings

N_USERS = 30


def candidate_rows(fold: str, target: str, n_users: int = N_USERS) -> list[dict]:
    rows = []
    for uid in [*range(1, n_users + 1), 1000]:
        for j in range(1, 7):
            item = 10 * uid + j
            positive = j in (1, 2) and uid != 1000
            rows.append(
                {
                    "fold": fold, "target": target, "uid": uid, "item_id": item,
                    "rank_mostpop": 7 - j, "score_mostpop": float(j) / 10,
                    "rank_history": (j + 1) // 2 if j % 2 == 1 else None,
                    "score_history": 1.0 / j if j % 2 == 1 else None,
                    "user_item_listens": 5 if positive else 0,
                    "artist_id": 7, "last_listen_ts": 100,
                }
            )
        rows.append(
            {
                "fold": fold, "target": target, "uid": uid, "item_id": 999,
                "rank_mostpop": 7, "score_mostpop": 0.05, "rank_history": None, "score_history": None,
                "user_item_listens": 0, "artist_id": 7, "last_listen_ts": 100,
            }
        )
    return rows


def build_warehouse(path, n_users: int = N_USERS, folds=("val", "test"), targets=("listen_plus",),
                    untuned: bool = False):
    """``untuned``: also a ``history_untuned`` generator (ranker.compare_untuned's candidates),
    which proposes every item ending in 2, 4 or 6, in that order."""
    con = duckdb.connect(str(path))
    features = pd.DataFrame([r for f in folds for t in targets for r in candidate_rows(f, t, n_users)])
    features["rank_history_untuned"] = [
        (item % 10) // 2 if untuned and item != 999 and item % 2 == 0 else None
        for item in features["item_id"]]
    features["score_history_untuned"] = [None if r is None else 1.0 / r
                                         for r in features["rank_history_untuned"]]
    con.register("features_df", features)
    extra = ("rank_history_untuned::integer as rank_history_untuned, "
             "score_history_untuned::double as score_history_untuned," if untuned else "")
    con.execute(
        f"""
        create table candidate_features as
        select fold, target, uid::uinteger as uid, item_id::uinteger as item_id,
               rank_mostpop::integer as rank_mostpop, score_mostpop::double as score_mostpop,
               rank_history::integer as rank_history, score_history::double as score_history,
               {extra}
               user_item_listens::bigint as user_item_listens,
               artist_id::uinteger as artist_id, last_listen_ts::uinteger as last_listen_ts
        from features_df
        """
    )
    con.execute(
        """
        create table candidates as
        select fold, target, 'mostpop' as model, uid, item_id, rank_mostpop as rank, score_mostpop as score
        from candidate_features
        union all
        select fold, target, 'history', uid, item_id, rank_history, score_history
        from candidate_features where rank_history is not null
        """
    )
    if untuned:
        con.execute(
            """
            insert into candidates
            select fold, target, 'history_untuned', uid, item_id, rank_history_untuned,
                   score_history_untuned
            from candidate_features where rank_history_untuned is not null
            """
        )
    con.execute(
        """
        create table eval_targets as
        select fold, target, uid, item_id, 1::utinyint as is_organic, 1 as target_events,
               0::uinteger as first_target_ts, (item_id % 10 = 1)::utinyint as is_repeat
        from candidate_features where user_item_listens > 0
        """
    )
    con.execute(
        """
        create table folds as
        select * from (values ('val', 1000::uinteger, 1100::uinteger, 2000::uinteger),
                              ('test', 2000::uinteger, 2100::uinteger, 3000::uinteger))
            t(fold, history_end_ts, target_start_ts, target_end_ts)
        """
    )
    con.close()
    return path



def mark_candidates_fresh(settings: Settings, config: dict, rank_every_user=("test",)) -> None:
    """Record for every hand-written ``candidates`` slice the fingerprint a fit with ``config``
    would write (``recsys.state``), as if the generators had produced them, and the hand-made
    ``candidate_features`` as built for ``config``."""
    from recsys import state
    from recsys.candidates.store import candidate_fingerprint
    from recsys.candidates.tuned import data_hash, resolve_params

    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(state.SLICE_STATE_DDL)
        for fold, target, model in con.execute(
                "select distinct fold, target, model from candidates").fetchall():
            params = resolve_params(con, config, target, model, data_hash(settings))
            fingerprint = candidate_fingerprint(
                con, config, fold, target, model, params, config["seed"], config["candidates"]["top_n"],
                every_user=fold in rank_every_user)
            state.record_slice(con, "candidates", {"fold": fold, "target": target, "model": model},
                               fingerprint)
        # and the hand-made candidate_features as built with this config's vars
        from recsys.ranking.settings import dbt_vars

        state.record_feature_mart(con, dbt_vars(config))
