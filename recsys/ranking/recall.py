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
RECALL_COLUMNS = ("fold", "target", "source", "recall", "targets", "repeat_recall",
                  "discovery_recall")
# eval_targets.is_repeat: 1 = the user had listened to the item before the cut-off
SEGMENTS = {1: "repeat_recall", 0: "discovery_recall"}


def candidate_recall(
    con: duckdb.DuckDBPyConnection,
    fold: str,
    target: str,
    models: Sequence[str],
    per_model: int,
) -> pd.DataFrame:
    """Rows (fold, target, source, recall, targets, repeat_recall, discovery_recall): one per
    generator in ``models`` + ``merged``.

    ``targets`` is the number of (uid, item_id) target pairs; ``recall`` is 0.0 when a generator
    has no candidates and NaN when the fold has no targets. ``repeat_recall`` /
    ``discovery_recall``: the same share among the targets the user had listened to before the
    cut-off / had not (``eval_targets.is_repeat``), NaN when the segment is empty.
    """
    require_tables(con, Tables.candidates, Tables.eval_targets)
    models = list(models)
    sql = """
        with targets as (
            select uid, item_id, max(is_repeat) as is_repeat from eval_targets
            where fold = $fold and target = $target group by uid, item_id
        ),
        cands as (
            select distinct model, uid, item_id from candidates
            where fold = $fold and target = $target and rank <= $n and list_contains($models, model)
        ),
        per_source as (
            select c.model as source, t.is_repeat, count(*) as found
            from targets t join cands c using (uid, item_id) group by c.model, t.is_repeat
            union all
            select $merged as source, t.is_repeat, count(*) as found
            from targets t
            where exists (select 1 from cands c where c.uid = t.uid and c.item_id = t.item_id)
            group by t.is_repeat
        )
        select source, is_repeat, found from per_source
    """
    params = {"fold": fold, "target": target, "n": per_model, "models": models, "merged": MERGED}
    found = {(row[0], int(row[1])): row[2] for row in con.execute(sql, params).fetchall()}
    totals = dict(con.execute(
        "select is_repeat, count(*) from (select uid, item_id, max(is_repeat) as is_repeat "
        "from eval_targets where fold = ? and target = ? group by uid, item_id) group by is_repeat",
        [fold, target]).fetchall())
    total = sum(totals.values())

    def share(hits: int, of: int) -> float:
        return hits / of if of else float("nan")

    rows = []
    for source in [*models, MERGED]:
        hits = {segment: found.get((source, segment), 0) for segment in SEGMENTS}
        rows.append({
            "fold": fold, "target": target, "source": source,
            "recall": share(sum(hits.values()), total), "targets": int(total),
            **{column: share(hits[segment], totals.get(segment, 0))
               for segment, column in SEGMENTS.items()}})
    return pd.DataFrame(rows, columns=list(RECALL_COLUMNS))
