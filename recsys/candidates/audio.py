"""Audio neighbours: catalogue items closest to the user's recent profile in embedding space.

The profile is the decay-weighted mean of the unit audio embeddings (``item_embeddings``) of the
user's ``profile_items`` most recent target-type items (``last_target_ts``: Listen+ items for the
``listen_plus`` target, liked items for ``like``), normalised to unit length.  Scores are cosine
similarities to every catalogue item with an embedding, computed brute force for a block of users
(``block x items`` at a time, no all-pairs matrix); items without an embedding are not scored
(``score_columns``) and never recommended, and users none of whose items has an embedding get no
rows.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.candidates.base import CandidateGenerator, run_positions
from recsys.candidates.data import TrainData
from recsys.candidates.history import DAY
from recsys.sections.generators import PARAMETERS


def recency_profile(data: TrainData, profile_items: int, half_life_days: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per user: the unit decay-weighted mean audio embedding of the ``profile_items`` most
    recent target-type items with an embedding (``users x d`` float32, zero rows for users with
    none) and whether the user has one."""
    frame = data.interactions
    usable = (frame["target_events"].to_numpy() > 0) & data.has_embedding[frame["item"].to_numpy()]
    recent = frame.loc[usable, ["user", "item", "last_target_ts"]].sort_values(
        ["user", "last_target_ts", "item"], ascending=[True, False, True], kind="stable"
    )
    recent = recent[run_positions(recent["user"].to_numpy()) < profile_items]
    last_ts = recent["last_target_ts"].to_numpy(dtype=np.int64)  # no NULLs: target_events > 0
    age = (data.history_end_ts - last_ts).astype(np.float64)
    weights = np.power(0.5, age / (half_life_days * DAY))
    w = sp.coo_matrix(
        (weights, (recent["user"], recent["item"])), shape=(len(data.users), len(data.items))
    ).tocsr()
    profile = np.asarray(w @ data.embeddings, dtype=np.float32)
    norms = np.linalg.norm(profile, axis=1, keepdims=True)
    return np.divide(profile, norms, out=np.zeros_like(profile), where=norms > 0), norms[:, 0] > 0


class AudioGenerator(CandidateGenerator):
    """Cosine k-NN in audio-embedding space from a recency profile of the user's items."""

    name = "audio"
    columns = frozenset({"target_events", "last_target_ts"})
    requires = frozenset({"embeddings"})
    defaults = PARAMETERS["audio"]
    score_params = frozenset({"exclude_seen"})

    def _fit(self, data: TrainData) -> None:
        self.profile, self.has_profile = recency_profile(
            data, int(self.params["profile_items"]), float(self.params["half_life_days"]))
        # only items with an embedding are scored (score_columns): no -inf column mask per block
        self.score_columns = np.flatnonzero(data.has_embedding)
        self.item_vectors = data.embeddings[self.score_columns]

    def retrieval_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        return self.score_columns, self.item_vectors

    def user_vector(self, user_idx: int) -> np.ndarray | None:
        return self.profile[user_idx] if self.has_profile[user_idx] else None

    def similarity_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """The unit audio embeddings (cosine); items without one have none."""
        return self.score_columns, self.item_vectors

    def _score_block(self, user_idx: np.ndarray, n: int) -> np.ndarray:
        scores = self.profile[user_idx] @ self.item_vectors.T
        scores[~self.has_profile[user_idx], :] = -np.inf
        return scores
