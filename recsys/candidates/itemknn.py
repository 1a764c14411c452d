"""ItemKNN: item-item cosine similarity over users, K neighbours per item, decayed user profile.

The similarity is ``implicit``'s sparse all-pairs k-NN on unit item columns (cosine): an items x items
CSR with at most K entries per row, never a dense items x items matrix.  A user's score for item j
is ``sum_i profile[u, i] * sim[i, j]`` where the profile is the user's time-decayed target-event
count (half-life ``half_life_days``), scored for a block of users as one sparse product.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender
from threadpoolctl import threadpool_limits

from recsys.candidates.base import CandidateGenerator
from recsys.candidates.data import TrainData
from recsys.candidates.history import DAY


class ItemKNNGenerator(CandidateGenerator):
    """Item-item cosine k-NN over user-count item vectors (``target_events``).

    Parameters: ``k`` neighbours per item, ``half_life_days`` of the user profile decay.
    Users are scored on their profile items' neighbourhoods only (a sparse result).
    """

    name = "itemknn"
    requires = frozenset({"events"})
    defaults = {"k": 100, "half_life_days": 7.0, "exclude_seen": False}
    score_params = frozenset({"exclude_seen"})

    def _fit(self, data: TrainData) -> None:
        k = int(self.params["k"])
        key = ("itemknn.similarity", k)
        if key not in data.cache:  # depends on k only: shared by the half-life grid points
            data.cache[key] = item_similarity(data, k)
        self.similarity: sp.csr_matrix = data.cache[key]
        self.profile: sp.csr_matrix = data.decayed_events(
            float(self.params["half_life_days"]) * DAY
        ).astype(np.float32)

    def _score_block(self, user_idx: np.ndarray, n: int) -> sp.csr_matrix:
        return (self.profile[user_idx] @ self.similarity).tocsr()


def item_similarity(data: TrainData, k: int) -> sp.csr_matrix:
    """items x items cosine similarity over users (``target_events`` counts), top ``k`` per row."""
    counts = data.matrix(data.column("target_events"), rows=data.column("target_events") > 0)
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=0)).ravel())
    inverse = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit_items = (counts @ sp.diags(inverse)).astype(np.float64).tocsr()  # cosine = dot of units
    model = ItemItemRecommender(K=k)
    with threadpool_limits(1, "blas"):
        model.fit(unit_items, show_progress=False)
    return model.similarity.tocsr().astype(np.float32)
