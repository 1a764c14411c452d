"""Fresh items: what came out recently and is catching on, nearest the user's taste first.

Music services put new releases in front of the listeners they suit; no other generator proposes
an item before it has gathered enough events to rank on popularity or co-occurrence. An item is
*fresh* when its first target-type event before the cut-off is at most ``max_age_days`` old (its
release, as the log sees it). For user u and fresh item i:

    score(u, i) = log(popularity(i)) + taste_weight * cos(profile(u), embedding(i))

* ``popularity(i)``: the item's target-type events, each weighted ``0.5 ** (age /
  popularity_days)`` (every user's events): what is catching on now;
* ``profile(u)``: the audio profile of the ``audio`` generator (the unit decay-weighted mean
  embedding of the user's ``profile_items`` most recent items, half-life ``half_life_days``);
  ``taste_weight`` = 0 ranks by popularity alone; an item without an embedding or a user without
  a profile gets cosine 0 (popularity decides).

Only fresh items are scored (``score_columns``); the user's own items are left out
(``exclude_seen``, on by default: this is a discovery source).
"""

from __future__ import annotations

import numpy as np

from recsys.candidates.audio import recency_profile
from recsys.candidates.base import CandidateGenerator
from recsys.candidates.data import TrainData
from recsys.candidates.history import DAY
from recsys.errors import ConfigError
from recsys.sections.generators import PARAMETERS


class FreshGenerator(CandidateGenerator):
    """Recently released items by recent popularity and closeness to the user's audio profile."""

    name = "fresh"
    columns = frozenset({"target_events", "first_target_ts", "last_target_ts"})
    requires = frozenset({"events", "embeddings"})
    defaults = PARAMETERS["fresh"]
    score_params = frozenset({"exclude_seen", "taste_weight"})

    def _fit(self, data: TrainData) -> None:
        max_age = float(self.params["max_age_days"])
        if max_age <= 0 or float(self.params["popularity_days"]) <= 0:
            raise ConfigError(f"{self.name} needs max_age_days > 0 and popularity_days > 0; got "
                              f"max_age_days={max_age}, popularity_days="
                              f"{self.params['popularity_days']}.")
        if data.embeddings is None:
            raise ConfigError(f"Generator '{self.name}' needs the items' audio embeddings in its "
                              "TrainData (load={'embeddings'}).")
        frame = data.interactions
        taken = frame["target_events"].to_numpy() > 0
        first = np.full(len(data.items), np.inf)
        np.minimum.at(first, frame["item"].to_numpy()[taken],
                      frame["first_target_ts"].to_numpy(dtype=np.float64)[taken])
        self.score_columns = np.flatnonzero(data.history_end_ts - first <= max_age * DAY)
        popularity = np.asarray(
            data.decayed_events(float(self.params["popularity_days"]) * DAY).sum(axis=0)).ravel()
        # an item whose decayed popularity underflows to 0 is still proposed, last
        self.log_popularity = np.log(np.maximum(popularity[self.score_columns], 1e-300))
        self.profile, _ = recency_profile(
            data, int(self.params["profile_items"]), float(self.params["half_life_days"]))
        self.item_vectors = data.embeddings[self.score_columns]  # zero rows: no embedding

    def _score_block(self, user_idx: np.ndarray, n: int) -> np.ndarray:
        taste = self.profile[user_idx] @ self.item_vectors.T
        return self.log_popularity[None, :] + float(self.params["taste_weight"]) * taste
