"""Non-personalised baselines of the Yambda paper: Random, MostPop, DecayPop.

The catalogue is every item of the fold's ``train_interactions`` (items with at least one
target-type event, or a dislike, before the cut-off).  All three recommend to unknown users too.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from recsys.candidates.base import CandidateGenerator, Recommendations
from recsys.candidates.data import TrainData
from recsys.sections.generators import PARAMETERS

HOUR = 3600.0


class RandomGenerator(CandidateGenerator):
    """``n`` distinct catalogue items per user, uniformly at random.

    Each user's draw comes from ``numpy.random.default_rng([seed, uid])``, so a user's list depends
    only on the seed and the uid (not on which other users are in the batch). Scores are uniform
    in [0, 1), sorted descending.
    """

    name = "random"
    defaults = PARAMETERS["random"]
    personalised = False

    def _fit(self, data: TrainData) -> None:
        pass

    def _recommend_same(self, uids: np.ndarray, n: int) -> Iterator[tuple[int, Recommendations]]:
        n_items = len(self.data.items)
        k = min(n, n_items)
        if k == 0:
            yield len(uids), Recommendations.concat([])
            return
        cols = np.empty((len(uids), k), dtype=np.int64)
        scores = np.empty((len(uids), k), dtype=np.float64)
        for row, uid in enumerate(uids):  # one cheap draw per user: no users x items matrix
            rng = np.random.default_rng([self.seed, int(uid)])
            cols[row] = rng.choice(n_items, size=k, replace=False)
            scores[row] = -np.sort(-rng.random(k))
        yield len(uids), Recommendations(
            np.repeat(uids, k), self.data.items.to_external(cols.ravel()), scores.ravel()
        )


class MostPopGenerator(CandidateGenerator):
    """Items by their number of target-type events before the cut-off (``target_events`` summed)."""

    name = "mostpop"
    defaults = PARAMETERS["mostpop"]
    columns = frozenset({"target_events"})
    personalised = False

    def _fit(self, data: TrainData) -> None:
        self.item_scores = np.bincount(
            data.column("item"), weights=data.column("target_events"), minlength=len(data.items)
        )

    def _item_scores(self) -> np.ndarray:
        return self.item_scores


class DecayPopGenerator(CandidateGenerator):
    """Items by ``sum over target events of 0.9 ** ((t_ref - t) / h hours)`` (the paper's DecayPop).

    ``t_ref`` is the fold's history cut-off; any other reference time multiplies every score by
    the same constant, so the ranking is the paper's.  ``h`` (parameter ``hours``) is tuned in
    {0.5, 1, 2, 3, 6, 12, 24} on the val fold.
    """

    name = "decaypop"
    personalised = False
    requires = frozenset({"events"})
    defaults = PARAMETERS["decaypop"]

    def _fit(self, data: TrainData) -> None:
        ev = data.events
        age = (data.history_end_ts - ev.timestamp).astype(np.float64)
        weights = np.power(0.9, age / (float(self.params["hours"]) * HOUR))
        self.item_scores = np.bincount(ev.item, weights=weights, minlength=len(data.items))

    def _item_scores(self) -> np.ndarray:
        return self.item_scores
