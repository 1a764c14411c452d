"""The two-stage model served: the saved ranker over the feature store's rows of each user.

``candidate_features`` is the feature store's answer for every candidate the fitted generators
proposed on the evaluated fold: their ranks and scores and every point-in-time feature as of the
fold's cut-off. :meth:`ServedRanker.load` reads the rows of that fold (for the generators the
saved ranker merged, its ``candidates_per_model``) once into one float32 matrix sorted by user;
a request scores one user's rows with the ranker and cuts the list as ``recsys rank`` does
(:func:`recsys.ranking.model.top_k_per_user`, the ranker's discovery places), so the served list
is the offline ``recommendations`` rows of that user.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np

from recsys import state
from recsys.columns import Tables
from recsys.config import Settings
from recsys.ranking.dataset import load_frame
from recsys.ranking.model import LightGBMRanker, RankerError, top_k_per_user
from recsys.ranking.ranker import RANK_BLOCK_USERS, model_dir


@dataclass
class ServedRanker:
    """One target's saved ranker with the fold's candidate rows, indexed by user."""

    name: str
    ranker: LightGBMRanker
    slots: int  # places of a list kept for unseen items (chosen on val when it was trained)
    depth: int  # the offline lists' length (evaluation.top_k): lists are cut from one this long
    uids: np.ndarray  # the users with candidates, sorted
    starts: np.ndarray  # rows of uids[i]: starts[i]:starts[i + 1]
    item_ids: np.ndarray
    features: np.ndarray
    unseen: np.ndarray | None

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection, settings: Settings, name: str, target: str,
             fold: str, depth: int) -> ServedRanker:
        ranker, meta = LightGBMRanker.load(model_dir(settings, name) / target)
        if meta.get("build") != state.current_build(con):
            raise RankerError(
                f"The saved {target} ranker {name} in {model_dir(settings, name)} was trained on "
                f"another build of the warehouse {settings.warehouse}; run `recsys evaluate` "
                "again before serving it.")
        users = con.execute(
            f"select distinct uid from {Tables.candidate_features} where fold = ? and target = ? "
            "order by uid", [fold, target]).fetchnumpy()["uid"]
        frames = [load_frame(con, fold, target, models=meta["models"],
                             per_model=int(meta["candidates_per_model"]),
                             features=ranker.feature_names, uids=users[i:i + RANK_BLOCK_USERS])
                  for i in range(0, len(users), RANK_BLOCK_USERS)]
        uids = np.concatenate([f.uids for f in frames]) if frames else np.zeros(0, np.uint32)
        order = np.argsort(uids, kind="stable")  # each block is sorted by (uid, item_id) already
        known, first = np.unique(uids[order], return_index=True)
        unseen = None if not frames or frames[0].unseen is None else \
            np.concatenate([f.unseen for f in frames])[order]
        return cls(
            name, ranker, int((meta.get("summary") or {}).get("discovery_slots") or 0), depth,
            known, np.append(first, len(order)),
            np.concatenate([f.item_ids for f in frames])[order] if frames else np.zeros(0, np.uint32),
            np.concatenate([f.features for f in frames])[order] if frames else
            np.zeros((0, len(ranker.feature_names)), np.float32),
            unseen)

    def recommend(self, uid: int, n: int, exclude_seen: bool = False
                  ) -> list[tuple[int, float]] | None:
        """User ``uid``'s top ``n`` (None: the user has no candidates on this fold)."""
        at = int(np.searchsorted(self.uids, uid))
        if at >= len(self.uids) or self.uids[at] != uid:
            return None
        rows = np.arange(self.starts[at], self.starts[at + 1])
        if exclude_seen and self.unseen is not None:
            rows = rows[self.unseen[rows]]
        scores = self.ranker.predict(self.features[rows]) if len(rows) else np.zeros(0)
        unseen = None if self.unseen is None else self.unseen[rows]
        order, _ = top_k_per_user(np.zeros(len(rows), np.uint32), self.item_ids[rows], scores,
                                  max(n, self.depth), unseen=unseen, slots=self.slots)
        order = order[:n]
        return list(zip(self.item_ids[rows][order].astype(int).tolist(),
                        scores[order].astype(float).tolist(), strict=True))

    @property
    def rows(self) -> int:
        return len(self.item_ids)
