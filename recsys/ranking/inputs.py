"""Make sure the ranker's inputs exist: candidates for each fold and an up-to-date feature mart.

The ``candidates`` table is written by ``recsys.candidates.run_candidates``; the
``candidate_features`` mart by dbt (``recsys.dbt_runner``). The mart is stale when its row
count for a (fold, target) differs from the number of distinct (uid, item_id) candidates of that
slice, or when the candidates were just regenerated. DuckDB allows one writer, so every
connection here is closed before dbt runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from recsys.columns import Tables
from recsys.config import Settings
from recsys.errors import RecsysError
from recsys.warehouse import open_warehouse, table_exists


def missing_candidate_slices(
    con, folds: Sequence[str], targets: Sequence[str], models: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(fold, target, model) slices of ``candidates`` with no rows."""
    wanted = [(f, t, m) for f in folds for t in targets for m in models]
    if not table_exists(con, Tables.candidates):
        return wanted
    have = set(con.execute("select distinct fold, target, model from candidates").fetchall())
    return [s for s in wanted if s not in have]


def stale_feature_slices(con, folds: Sequence[str], targets: Sequence[str]) -> list[tuple[str, str]]:
    """(fold, target) slices whose ``candidate_features`` rows differ from the merged candidates."""
    wanted = [(f, t) for f in folds for t in targets]
    if not table_exists(con, Tables.candidate_features):
        return wanted
    rows = con.execute(
        """
        with c as (
            select fold, target, count(*) as n
            from (select distinct fold, target, uid, item_id from candidates) group by all
        ),
        f as (select fold, target, count(*) as n from candidate_features group by all)
        select c.fold, c.target, c.n, coalesce(f.n, 0) from c left join f using (fold, target)
        """
    ).fetchall()
    fresh = {(fold, target) for fold, target, n_c, n_f in rows if n_c == n_f}
    return [s for s in wanted if s not in fresh]


def build_candidate_features(settings: Settings) -> None:
    """Rebuild the ``candidate_features`` mart with dbt (the dbt engineer's runner)."""
    try:
        runner = importlib.import_module("recsys.dbt_runner")
    except ImportError as exc:
        raise RecsysError(
            "recsys.dbt_runner is missing, so candidate_features cannot be rebuilt from Python. "
            "Run `dbt build --select candidate_features` in dbt_project/ by hand."
        ) from exc
    if hasattr(runner, "build_candidate_features"):
        runner.build_candidate_features(settings)
    else:
        runner.run_dbt(settings, ["build", "--select", Tables.candidate_features])


def ensure_inputs(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    folds: Sequence[str],
    targets: Sequence[str],
    models: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the generators and rebuild the mart where needed; returns what was done."""
    models = list(models or (config.get("candidates") or {}).get("models") or [])
    with open_warehouse(settings) as con:
        missing = missing_candidate_slices(con, folds, targets, models)
    if missing:
        from recsys.candidates import run_candidates

        run_folds = tuple(dict.fromkeys(f for f, _, _ in missing))
        run_targets = tuple(dict.fromkeys(t for _, t, _ in missing))
        run_models = list(dict.fromkeys(m for _, _, m in missing))
        run_candidates(settings, config, folds=run_folds, targets=run_targets, models=run_models,
                       progress=progress)
    with open_warehouse(settings) as con:
        stale = stale_feature_slices(con, folds, targets)
    if stale or missing:
        build_candidate_features(settings)
        with open_warehouse(settings) as con:
            still = stale_feature_slices(con, folds, targets)
        if still:
            raise RecsysError(
                "candidate_features does not match the candidates after a rebuild for "
                f"{', '.join(f'{f}/{t}' for f, t in still)}; check the dbt model candidate_features."
            )
    return {
        "candidates_generated": [f"{f}/{t}/{m}" for f, t, m in missing],
        "features_rebuilt": bool(stale or missing),
    }
