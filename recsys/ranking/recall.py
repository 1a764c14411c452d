"""Candidate recall: how many targets the merged candidate set (and each generator) contains.

Recall here is a micro share: (target pairs (uid, item_id) of the fold found among the
candidates) / (all target pairs of the fold in ``eval_targets``). For the merged set it is the
ceiling of any re-ranker: a target that is not a candidate can never be recommended. Every
generator counts its top-N (``ranker.candidates_per_model``), the same N used for merging.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from recsys.columns import Tables
from recsys.warehouse import require_tables

MERGED = "merged"
RECALL_COLUMNS = ("fold", "target", "source", "recall", "targets")


def candidate_recall(
    con: duckdb.DuckDBPyConnection,
    fold: str,
    target: str,
    models: Sequence[str],
    per_model: int,
) -> pd.DataFrame:
    """Rows (fold, target, source, recall, targets): one per generator in ``models`` + ``merged``.

    ``targets`` is the number of (uid, item_id) target pairs; ``recall`` is 0.0 when a generator
    has no candidates and NaN when the fold has no targets.
    """
    require_tables(con, Tables.candidates, Tables.eval_targets)
    models = list(models)
    sql = """
        with targets as (
            select distinct uid, item_id from eval_targets where fold = $fold and target = $target
        ),
        cands as (
            select distinct model, uid, item_id from candidates
            where fold = $fold and target = $target and rank <= $n and list_contains($models, model)
        ),
        per_source as (
            select c.model as source, count(*) as found
            from targets t join cands c using (uid, item_id) group by c.model
            union all
            select $merged as source, count(*) as found
            from targets t
            where exists (select 1 from cands c where c.uid = t.uid and c.item_id = t.item_id)
        )
        select source, found, (select count(*) from targets) as targets from per_source
    """
    params = {"fold": fold, "target": target, "n": per_model, "models": models, "merged": MERGED}
    found = {row[0]: (row[1], row[2]) for row in con.execute(sql, params).fetchall()}
    total = con.execute(
        "select count(*) from (select distinct uid, item_id from eval_targets "
        "where fold = ? and target = ?)", [fold, target],
    ).fetchone()[0]
    rows = []
    for source in [*models, MERGED]:
        hits = found.get(source, (0, total))[0]
        rows.append(
            {
                "fold": fold,
                "target": target,
                "source": source,
                "recall": hits / total if total else float("nan"),
                "targets": int(total),
            }
        )
    return pd.DataFrame(rows, columns=list(RECALL_COLUMNS))
