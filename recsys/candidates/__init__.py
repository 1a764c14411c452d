"""Candidate generators: the first stage of the two-stage recommender and the paper's baselines.

Every generator has ``fit(TrainData)`` and ``recommend(uids, n)`` (see :mod:`.base`); the
orchestrator entry point is :func:`run_candidates`, which writes the warehouse table
``candidates`` (fold, target, model, uid, item_id, rank, score).
"""

from recsys.candidates.base import CandidateGenerator, Recommendations
from recsys.candidates.data import IdMap, TrainData
from recsys.candidates.registry import GENERATORS, make_generator
from recsys.candidates.runner import CandidateRun, run_candidates

__all__ = [
    "GENERATORS", "CandidateGenerator", "CandidateRun", "IdMap", "Recommendations", "TrainData",
    "make_generator", "run_candidates",
]  # fmt: skip
