"""The ranker's training set: the candidates of every training fold, stacked, as query groups.

Each (fold, user) of ``ranker.train_folds`` (``val``, ``val_2``, ...) with at least one target
among its merged candidates is one LambdaRank query. Every fold's candidates come from
generators fitted on that fold's own history and its features are as of that fold's cut-off
(the marts are per fold), so stacking folds adds queries without mixing time frames.

Early stopping holds out *users*, not rows: a seeded share of the evaluated users the
generators served on the training folds is held out, the same users in every fold, so no
held-out user is also learned from an earlier or later fold. They are drawn before looking at
which of them have a target among the candidates, so rankers on different candidate sets of the
same mart hold out the same users and :func:`heldout_metrics` compares them.
``ranker.max_train_queries`` bounds the training queries by a seeded sample (the held-out
queries in the same proportion), chosen before any feature is read, so memory stays bounded at
any data size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np

from recsys.columns import Tables
from recsys.ranking.dataset import RANK_PREFIX, RankingDataError, RankingFrame, _quote, load_frame
from recsys.ranking.model import top_k_per_user
from recsys.sections.ranker import RankerConfig, required_n_folds
from recsys.warehouse import require_tables


@dataclass
class QueryPlan:
    """Which users of each training fold are read, and which of them are held out.

    Attributes
    ----------
    folds
        Training folds, in order.
    train, valid
        Per fold: sorted uids learned from / held out for early stopping (held-out users with a
        target among the candidates: the only ones LambdaRank can score).
    candidates
        Users with a positive candidate over all folds (queries before any cap).
    heldout
        Per fold: every held-out user (sorted), with or without a target among the candidates:
        the users :func:`heldout_metrics` averages over. ``None``: those of ``valid``.
    """

    folds: tuple[str, ...]
    train: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    candidates: int
    heldout: dict[str, np.ndarray] | None = None

    def users(self, fold: str) -> np.ndarray:
        return np.union1d(self.train[fold], self.valid[fold])


def check_train_folds(con: duckdb.DuckDBPyConnection, folds: Sequence[str]) -> None:
    """Raise a clear error when a configured training fold is not in the warehouse's ``folds``."""
    require_tables(con, Tables.folds)
    have = sorted(row[0] for row in con.execute("select fold from folds").fetchall())
    missing = [f for f in folds if f not in have]
    if missing:
        n = required_n_folds({"ranker": {"train_folds": list(folds)}})
        raise RankingDataError(
            f"ranker.train_folds names {', '.join(missing)}, but the warehouse's folds table has "
            f"only {', '.join(have) or 'none'}. Rebuild it with the same config, "
            f"`recsys build --config <your.yml>` (it sets dbt var n_folds = {n}), "
            "or remove those folds from ranker.train_folds."
        )


def positive_users(
    con: duckdb.DuckDBPyConnection, fold: str, target: str, models: Sequence[str], per_model: int
) -> np.ndarray:
    """Sorted uids of ``fold`` with at least one target among their merged candidates."""
    merged = " or ".join(f"cf.{_quote(RANK_PREFIX + m)} <= $n" for m in models)
    rows = con.execute(
        f"""
        select distinct cf.uid from candidate_features cf
        join eval_targets t using (fold, target, uid, item_id)
        where cf.fold = $fold and cf.target = $target and ({merged})
        order by cf.uid
        """,
        {"fold": fold, "target": target, "n": per_model},
    ).fetchnumpy()
    return np.asarray(rows["uid"], dtype=np.uint32)


def _sample(uids: dict[str, np.ndarray], limit: int | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """At most ``limit`` (fold, uid) queries, a seeded sample, each fold's uids kept sorted."""
    total = sum(len(u) for u in uids.values())
    if limit is None or total <= limit:
        return uids
    keep = np.zeros(total, dtype=bool)
    keep[rng.permutation(total)[:limit]] = True
    out, start = {}, 0
    for fold, u in uids.items():
        out[fold] = u[keep[start:start + len(u)]]
        start += len(u)
    return out


def served_users(con: duckdb.DuckDBPyConnection, fold: str, target: str) -> np.ndarray:
    """Sorted uids of ``fold``'s evaluated users with a row in ``candidate_features`` (any
    generator's): the users a training fold can hold out, whichever candidates a ranker merges."""
    rows = con.execute(
        """
        select distinct cf.uid from candidate_features cf
        where cf.fold = $fold and cf.target = $target
          and cf.uid in (select uid from eval_targets where fold = $fold and target = $target)
        order by cf.uid
        """,
        {"fold": fold, "target": target},
    ).fetchnumpy()
    return np.asarray(rows["uid"], dtype=np.uint32)


def plan_queries(positives: dict[str, np.ndarray], cfg: RankerConfig,
                 served: dict[str, np.ndarray] | None = None) -> QueryPlan:
    """Hold out a seeded share of the ``served`` users (default: ``positives``; the same users in
    every fold), then cap the queries; the held-out queries are capped before keeping those with
    a positive, so the held-out users do not depend on the candidates."""
    served = positives if served is None else served
    folds = tuple(positives)
    everyone = np.unique(np.concatenate([served[f] for f in folds])) if folds else np.zeros(0)
    n_users = len(everyone)
    n_valid = int(round(cfg.valid_share * n_users))
    n_valid = min(max(n_valid, 1), n_users - 1) if cfg.valid_share > 0 and n_users >= 2 else 0
    rng = np.random.default_rng(cfg.seed)
    held_out = np.sort(everyone[rng.permutation(n_users)[:n_valid]])
    train = {f: np.setdiff1d(positives[f], held_out) for f in folds}
    heldout = {f: np.intersect1d(served[f], held_out) for f in folds}
    limit = cfg.max_train_queries
    valid_limit = None
    if limit is not None and cfg.valid_share > 0:
        valid_limit = max(1, math.ceil(limit * cfg.valid_share / (1 - cfg.valid_share)))
    train = _sample(train, limit, rng)
    heldout = _sample(heldout, valid_limit, rng)
    valid = {f: np.intersect1d(heldout[f], positives[f]) for f in folds}
    return QueryPlan(folds, train, valid, sum(len(positives[f]) for f in folds), heldout)


def heldout_metrics(con: duckdb.DuckDBPyConnection, target: str, plan: QueryPlan,
                    frame: RankingFrame, scores: np.ndarray, *, k: int = 10,
                    recall_k: int = 100, slots: int = 0) -> dict[str, float] | None:
    """NDCG@k and Recall@recall_k of the held-out users' re-ranked candidates, comparable across
    candidate sets and list policies.

    Binary relevance; the ideal list and the recall's denominator hold all of the user's targets
    of the fold (not only those among the candidates), and a held-out user without a target
    among the candidates scores 0. The lists are cut as ``rank`` cuts them
    (:func:`recsys.ranking.model.top_k_per_user`, ``slots`` unseen items reserved). ``frame``
    holds the held-out rows (folds numbered as in ``plan.folds``), ``scores`` the ranker's.
    When the frame says which candidates are unseen, also ``repeat_recall@recall_k`` and
    ``discovery_recall@recall_k``: the same recall over the targets the user had (had not)
    listened to, averaged over the held-out users who have such targets (NaN: none).
    None without held-out users.
    """
    heldout = plan.heldout if plan.heldout is not None else plan.valid
    users = sum(len(u) for u in heldout.values())
    if not users:
        return None
    folds = frame.folds if frame.folds is not None else np.zeros(len(frame), dtype=np.uint8)
    queries = (folds.astype(np.int64) << 32) | frame.uids.astype(np.int64)  # one per (fold, user)
    order, ranks = top_k_per_user(queries, frame.item_ids, scores, max(k, recall_k),
                                  unseen=frame.unseen, slots=slots)
    hit = frame.labels[order] > 0
    dcg = np.where(hit & (ranks <= k), 1.0 / np.log2(ranks + 1.0), 0.0)
    found = hit & (ranks <= recall_k)
    unseen = frame.unseen[order] if frame.unseen is not None else None
    discounts = np.cumsum(1.0 / np.log2(np.arange(k) + 2))
    ndcg = recall = 0.0
    # per segment (repeat: targets the user had listened to, found as seen candidates; discovery:
    # the others): the sum of the users' recalls and the number of users with such targets
    segments = {"repeat": [0.0, 0], "discovery": [0.0, 0]}
    for i, fold in enumerate(plan.folds):
        counts = con.execute(
            "select uid, count(*) as n, count(*) filter (where is_repeat = 1) as repeat, "
            "count(*) filter (where is_repeat = 0) as discovery from (select uid, item_id, "
            "max(is_repeat) as is_repeat from eval_targets where fold = ? and target = ? "
            "group by uid, item_id) group by uid order by uid", [fold, target]).fetchnumpy()
        rows = folds[order] == i
        uids = frame.uids[order][rows]  # every held-out row's user has targets in the fold
        at = np.minimum(np.searchsorted(counts["uid"], uids), max(len(counts["uid"]) - 1, 0))
        known = counts["uid"][at] == uids
        n_targets = np.where(known, counts["n"][at], 1).astype(np.float64)
        ideal = discounts[np.minimum(n_targets, k).astype(np.int64) - 1]
        ndcg += float((dcg[rows] / ideal).sum())
        recall += float((found[rows] / n_targets).sum())
        if unseen is None:
            continue
        held = np.isin(counts["uid"], heldout.get(fold, np.zeros(0)))
        for name, in_segment in (("repeat", ~unseen[rows]), ("discovery", unseen[rows])):
            n = np.where(known, counts[name][at], 0).astype(np.float64)
            part = np.divide(found[rows] & in_segment, n, out=np.zeros(len(n)), where=n > 0)
            segments[name][0] += float(part.sum())
            segments[name][1] += int((held & (counts[name] > 0)).sum())
    out = {f"ndcg@{k}": ndcg / users, f"recall@{recall_k}": recall / users}
    if unseen is not None:
        out.update({f"{name}_recall@{recall_k}": total / n if n else float("nan")
                    for name, (total, n) in segments.items()})
    return out


def load_training_set(
    con: duckdb.DuckDBPyConnection,
    target: str,
    cfg: RankerConfig,
    models: Sequence[str],
    *,
    exclude: Sequence[str] = (),
) -> tuple[RankingFrame, np.ndarray, QueryPlan]:
    """The stacked training frame of ``target``, its held-out row mask, and the query plan.

    Rows are sorted by (fold position in ``cfg.train_folds``, uid, item_id); every query has a
    positive candidate. The feature list is derived once, from ``candidate_features``.
    """
    check_train_folds(con, cfg.train_folds)
    require_tables(con, Tables.candidate_features, Tables.eval_targets)
    positives = {
        f: positive_users(con, f, target, models, cfg.candidates_per_model) for f in cfg.train_folds
    }
    empty = [f for f, u in positives.items() if len(u) == 0]
    if empty:
        raise RankingDataError(
            f"No user of fold(s) {', '.join(empty)} has a {target} target among the merged "
            "candidates, so there is nothing to learn there. Check that `recsys candidates` ran for "
            "these folds and the mart was rebuilt (`recsys train-ranker` does both when a slice is "
            "missing), and candidate recall (more generators or a larger ranker.candidates_per_model)."
        )
    served = {f: served_users(con, f, target) for f in cfg.train_folds}
    plan = plan_queries(positives, cfg, served)
    frames, features = [], None
    for fold in cfg.train_folds:
        frame = load_frame(
            con, fold, target, models=models, per_model=cfg.candidates_per_model,
            features=features, exclude=exclude, uids=plan.users(fold), graded_cap=cfg.graded_labels,
        )
        features = frame.feature_names
        frames.append(frame)
    stacked = RankingFrame.stack(frames)
    del frames
    valid_rows = np.zeros(len(stacked), dtype=bool)
    for i, fold in enumerate(cfg.train_folds):
        rows = stacked.folds == i
        valid_rows[rows] = np.isin(stacked.uids[rows], plan.valid[fold])
    return stacked, valid_rows, plan
