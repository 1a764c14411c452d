"""Helpers of the ranking tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import duckdb

from recsys.config import Settings


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
