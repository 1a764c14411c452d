"""ItemKNN: item-item cosine similarity over users, K neighbours per item, decayed user profile.

The similarity is ``implicit``'s sparse all-pairs k-NN on unit item columns (cosine): an items x items
CSR with at most K entries per row, never a dense items x items matrix.  A user's score for item j
is ``sum_i profile[u, i] * sim[i, j]``, scored for a block of users as one sparse product.  The
profile is the user's time-decayed target-event count (half-life ``half_life_days``, ages measured
from the user's own last event, as the official code does), and ``profile_vectors`` says what each
profile item stands for:

* ``unit`` (default): its unit vector, so the score is a decayed sum of cosines (classic item-based
  CF: a user's hundred recent items vote equally, whatever their play counts);
* ``counts``: its user-count vector, as in the official Yambda ItemKNN, whose score is the cosine
  between the user's decayed sum of item count vectors and item j: ``sum_i profile[u, i] * |U_i| *
  cos(i, j)`` (|U_i| the item's count-vector norm), so heavily played items weigh more.  The
  official code takes every neighbour of every history item; here the same K-neighbour and
  recent-item pruning applies.

Pruning before the all-pairs step (its cost is the sum over users of their item count squared,
24.5 min for one fit at 50m unpruned):

* ``recent_items`` N: the similarity sees only each user's N most recently consumed distinct items
  (``last_target_ts``, ties by item id); 0 keeps all.  Old items also carry almost no weight in
  the decayed profile, so they add cost and little signal.  The cost becomes
  ``sum_u min(n_u, N)^2``.  Default 100: on small's val fold (Listen+) Recall@100 0.300 -> 0.637
  and NDCG@10 0.063 -> 0.156 against all items, fit 13 s -> 1.8 s CPU (N = 1000: 0.299, 500:
  0.327, 200: 0.490, 50: 0.583).
* ``min_item_users`` m: items with fewer than m users (after the recency cut) are left out of
  the similarity, as neighbours and as profile items; 1 keeps all (the default: m = 2 raised
  NDCG@10 but lowered Recall@100 on small's val fold, 0.404 vs 0.637 with N = 100).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender
from threadpoolctl import threadpool_limits

from recsys.candidates.base import CandidateGenerator
from recsys.candidates.data import TrainData
from recsys.candidates.history import DAY
from recsys.errors import ConfigError
from recsys.sections.generators import PARAMETERS

# what a profile item's vector is in the user's sum (see the module docstring)
PROFILE_VECTORS = ("unit", "counts")


class ItemKNNGenerator(CandidateGenerator):
    """Item-item cosine k-NN over user-count item vectors (``target_events``).

    Parameters: ``k`` neighbours per item, ``half_life_days`` of the user profile decay,
    ``profile_vectors`` (``unit`` or ``counts``, see the module), ``recent_items`` /
    ``min_item_users`` (pruning of the similarity's input, see the module).
    Users are scored on their profile items' neighbourhoods only (a sparse result).
    """

    name = "itemknn"
    columns = frozenset({"target_events", "last_target_ts"})
    requires = frozenset({"events"})
    defaults = PARAMETERS["itemknn"]
    score_params = frozenset({"exclude_seen"})

    def _fit(self, data: TrainData) -> None:
        k = int(self.params["k"])
        recent, min_users = int(self.params["recent_items"]), int(self.params["min_item_users"])
        vectors = self.params["profile_vectors"]
        if k < 1 or recent < 0 or min_users < 1 or vectors not in PROFILE_VECTORS:
            raise ConfigError(
                f"itemknn needs k >= 1, recent_items >= 0 (0: all), min_item_users >= 1 and "
                f"profile_vectors in {', '.join(PROFILE_VECTORS)}; got k={k}, recent_items={recent}, "
                f"min_item_users={min_users}, profile_vectors={vectors!r}."
            )
        # independent of the half-life and the profile: shared by those grid points
        pruning = (recent, min_users)
        if ("itemknn.counts", pruning) not in data.cache:
            data.cache["itemknn.counts", pruning] = pruned_counts(data, recent, min_users)
        counts: sp.csr_matrix = data.cache["itemknn.counts", pruning]
        if ("itemknn.similarity", k, pruning) not in data.cache:
            data.cache["itemknn.similarity", k, pruning] = cosine_neighbours(counts, k)
        self.similarity: sp.csr_matrix = data.cache["itemknn.similarity", k, pruning]
        profile = data.decayed_events(float(self.params["half_life_days"]) * DAY, from_user_last=True)
        if recent > 0:  # the same recent items as the similarity (older ones weigh little anyway)
            profile = profile.multiply(counts > 0)
        if vectors == "counts":
            profile = profile @ sp.diags(column_norms(counts))
        self.profile: sp.csr_matrix = sp.csr_matrix(profile, dtype=np.float32)

    def _score_block(self, user_idx: np.ndarray, n: int) -> sp.csr_matrix:
        return (self.profile[user_idx] @ self.similarity).tocsr()

    def _item_neighbours(self, item_idx: int) -> tuple[np.ndarray, np.ndarray]:
        row = self.similarity[item_idx]
        return row.indices.astype(np.int64), row.data


def pruned_counts(data: TrainData, recent_items: int = 0, min_item_users: int = 1) -> sp.csr_matrix:
    """users x items ``target_events`` counts kept for the similarity (see the module docstring).

    Each user keeps the ``recent_items`` most recent items by ``last_target_ts`` (ties by item
    index, i.e. item id; 0 keeps all); then item columns with fewer than ``min_item_users`` users
    are dropped.  Vectorised: one sort of the interaction rows, no loop per user.
    """
    events = data.column("target_events")
    rows = data.recent_positive_rows(recent_items)
    user, item = data.column("user")[rows], data.column("item")[rows]
    if min_item_users > 1:
        users_per_item = np.bincount(item, minlength=len(data.items))
        keep = users_per_item[item] >= min_item_users
        rows, user, item = rows[keep], user[keep], item[keep]
    return sp.csr_matrix(
        (events[rows].astype(np.float64), (user, item)), shape=(len(data.users), len(data.items))
    )


def column_norms(counts: sp.csr_matrix) -> np.ndarray:
    """Euclidean norm of every item column (0 for an empty one)."""
    return np.sqrt(np.asarray(counts.multiply(counts).sum(axis=0)).ravel())


def item_similarity(
    data: TrainData, k: int, *, recent_items: int = 0, min_item_users: int = 1
) -> sp.csr_matrix:
    """items x items cosine similarity over users (``target_events`` counts), top ``k`` per row.

    Computed on :func:`pruned_counts`; an item left out by the pruning has an empty row and column.
    """
    return cosine_neighbours(pruned_counts(data, recent_items, min_item_users), k)


def cosine_neighbours(counts: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """items x items cosine similarity of the columns of ``counts`` (users x items), top ``k``
    per row; an empty column has an empty row and column."""
    n_items = counts.shape[1]
    # only the items left after pruning enter the all-pairs step: implicit allocates K slots per
    # item (16 bytes each) for every column it is given, used or not
    kept = np.flatnonzero(np.diff(counts.tocsc().indptr))
    counts = counts[:, kept]
    # cosine = dot product of unit columns
    unit_items = (counts @ sp.diags(1.0 / column_norms(counts))).astype(np.float64).tocsr()
    model = ItemItemRecommender(K=k)
    with threadpool_limits(1, "blas"):
        model.fit(unit_items, show_progress=False)
    compact = model.similarity.tocoo()
    del model
    return sp.csr_matrix(
        (compact.data.astype(np.float32), (kept[compact.row], kept[compact.col])),
        shape=(n_items, n_items),
    )
