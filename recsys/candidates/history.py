"""History: the user's own items, most recently and most often consumed first.

Repeat consumption is the strongest single signal in music listening, so this generator is both a
baseline and the main candidate source for the re-ranker.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.candidates.base import CandidateGenerator
from recsys.candidates.data import TrainData
from recsys.sections.generators import PARAMETERS

DAY = 86_400.0


class HistoryGenerator(CandidateGenerator):
    """Each user's items scored by ``sum over the user's target events of 0.5 ** (age / half-life)``.

    ``age`` is measured back from the fold's cut-off; ``half_life_days`` is tuned on val.  Items
    the user has disliked at the cut-off (``is_disliked``) are dropped when ``drop_disliked``.
    Only items the user interacted with are recommended, so lists can be shorter than ``n``.
    """

    name = "history"
    columns = frozenset({"is_disliked"})
    requires = frozenset({"events"})
    user_local = True
    defaults = PARAMETERS["history"]

    def _fit(self, data: TrainData) -> None:
        scores = data.decayed_events(float(self.params["half_life_days"]) * DAY).tocoo()
        if self.params["drop_disliked"]:
            disliked = data.column("is_disliked").astype(bool)
            n_items = len(data.items)
            bad = data.column("user")[disliked] * n_items + data.column("item")[disliked]
            keep = ~np.isin(scores.row.astype(np.int64) * n_items + scores.col, bad)
            scores = sp.coo_matrix(
                (scores.data[keep], (scores.row[keep], scores.col[keep])), shape=scores.shape
            )
        self.scores: sp.csr_matrix = scores.tocsr()

    def _score_block(self, user_idx: np.ndarray, n: int) -> sp.csr_matrix:
        return self.scores[user_idx]

