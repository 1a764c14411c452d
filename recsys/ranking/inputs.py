"""Make sure the ranker's inputs exist: candidates for each fold and an up-to-date feature mart.

The ``candidates`` table is written by ``recsys.candidates.run_candidates``; the
``candidate_features`` mart by dbt (``recsys.dbt_runner``). The mart is stale when its
(model, uid, item_id, rank) rows for a (fold, target) differ from the ``candidates`` table's
(count and sum of row hashes), or when the candidates were just regenerated. DuckDB allows one writer, so every
connection here is closed before dbt runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from recsys.columns import Tables
from recsys.config import Settings
from recsys.errors import RecsysError
from recsys.ranking.connection import ranking_warehouse
from recsys.ranking.dataset import RANK_PREFIX, column_types, generators_in
from recsys.ranking.settings import dbt_vars
from recsys.warehouse import table_exists


def missing_candidate_slices(
    settings: Settings, config: Mapping[str, Any], con, folds: Sequence[str],
    targets: Sequence[str], models: Sequence[str], rank_every_user: Sequence[str],
) -> list[tuple[str, str, str]]:
    """(fold, target, model) slices of ``candidates`` that are missing or stale (fitted from
    another build, other parameters, seed, list length or users: ``recsys.state``)."""
    from recsys.candidates.runner import fresh_slices
    from recsys.candidates.tuned import data_hash

    have = fresh_slices(con, dict(config), folds, targets, models, rank_every_user, data_hash(settings))
    return [(f, t, m) for f in folds for t in targets for m in models if (f, t, m) not in have]


def stale_feature_slices(
    con, folds: Sequence[str], targets: Sequence[str], max_rank: int | None = None
) -> list[tuple[str, str]]:
    """(fold, target) slices whose ``candidate_features`` disagree with ``candidates``.

    Compares a fingerprint of every (model, uid, item_id, rank) of the generators that have a
    ``rank_<model>`` column: the row count and the sum of row hashes, on both sides. With
    ``max_rank`` (dbt var ``candidate_max_rank``) only ranks ``<= max_rank`` count, on both sides
    (a mart that keeps more rows is still fresh for a ranker reading only those).
    """
    wanted = [(f, t) for f in folds for t in targets]
    if not table_exists(con, Tables.candidate_features) or not table_exists(con, Tables.candidates):
        return wanted
    models = generators_in(list(column_types(con, Tables.candidate_features)))
    if not models:
        return wanted
    rank_columns = ", ".join(f'"{RANK_PREFIX}{m}"' for m in models)
    rows = con.execute(
        f"""
        with c as (
            select fold, target, count(*) as n,
                   sum(hash(model, uid::uinteger, item_id::uinteger, rank::integer)::hugeint) as h
            from candidates where list_contains($models, model) and list_contains($folds, fold)
              and ($max_rank is null or rank <= $max_rank)
            group by all
        ),
        long as (
            unpivot (select fold, target, uid, item_id, {rank_columns} from candidate_features
                     where list_contains($folds, fold))
            on {rank_columns} into name model value rank
        ),
        f as (
            select fold, target, count(*) as n,
                   sum(hash(replace(model, '{RANK_PREFIX}', ''), uid::uinteger, item_id::uinteger,
                            rank::integer)::hugeint) as h
            from long where $max_rank is null or rank <= $max_rank group by all
        )
        select c.fold, c.target from c join f using (fold, target) where c.n = f.n and c.h = f.h
        """,
        {"models": models, "folds": list(dict.fromkeys(folds)), "max_rank": max_rank},
    ).fetchall()
    fresh = set(rows)
    return [s for s in wanted if s not in fresh]


def build_candidate_features(settings: Settings, vars: Mapping[str, Any] | None = None) -> None:
    """Rebuild the ``candidate_features`` mart with dbt (the dbt engineer's runner), with ``vars``."""
    try:
        runner = importlib.import_module("recsys.dbt_runner")
    except ImportError as exc:
        raise RecsysError(
            "recsys.dbt_runner is missing, so candidate_features cannot be rebuilt from Python. "
            "Run `dbt build --select candidate_features` in dbt_project/ by hand."
        ) from exc
    runner.build_candidate_features(settings, vars=dict(vars or {}))


def ensure_inputs(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    folds: Sequence[str],
    targets: Sequence[str],
    models: Sequence[str] | None = None,
    progress: bool = True,
    check_stale: bool = True,
    rank_every_user: Sequence[str] = ("test",),
) -> dict[str, Any]:
    """Run the generators and rebuild the mart where needed; returns what was done.

    ``check_stale=False`` skips comparing the mart with ``candidates`` (a scan of both tables,
    tens of seconds at 50m) and rebuilds it only when candidates were missing.
    ``rank_every_user``: folds whose candidates serve every user with target-type history (the
    evaluated fold), not only the evaluated users.
    """
    models = list(models or (config.get("candidates") or {}).get("models") or [])
    dbt = dbt_vars(config)
    max_rank = dbt["candidate_max_rank"]
    with ranking_warehouse(settings) as con:
        missing = missing_candidate_slices(settings, config, con, folds, targets, models,
                                           rank_every_user)
    if missing:
        from recsys.candidates import run_candidates

        run_folds = tuple(dict.fromkeys(f for f, _, _ in missing))
        run_targets = tuple(dict.fromkeys(t for _, t, _ in missing))
        run_models = list(dict.fromkeys(m for _, _, m in missing))
        run_candidates(settings, config, folds=run_folds, targets=run_targets, models=run_models,
                       rank_every_user=rank_every_user, progress=progress)
    stale = []
    if check_stale or missing:
        with ranking_warehouse(settings) as con:
            stale = stale_feature_slices(con, folds, targets, max_rank)
    if stale or missing:
        build_candidate_features(settings, dbt)
        with ranking_warehouse(settings) as con:
            still = stale_feature_slices(con, folds, targets, max_rank)
        if still:
            raise RecsysError(
                "candidate_features does not match the candidates after a rebuild for "
                f"{', '.join(f'{f}/{t}' for f, t in still)}; check the dbt model candidate_features."
            )
    return {
        "candidates_generated": [f"{f}/{t}/{m}" for f, t, m in missing],
        "features_rebuilt": bool(stale or missing),
    }
