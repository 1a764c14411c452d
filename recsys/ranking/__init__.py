"""Two-stage recommender: LightGBM LambdaRank re-ranking of merged candidates.

Entry points: :func:`run_two_stage` (candidates → features → train on val → rank test),
:func:`train_ranker`, :func:`rank`. See ``recsys/ranking/dataset.py`` for how the ranking table
is built and ``recsys/defaults.yml`` (``ranker:``) for the settings.
"""

from recsys.ranking.model import LightGBMRanker, Ranker, RankerError
from recsys.ranking.pipeline import model_dir, rank, run_two_stage, train_ranker
from recsys.ranking.settings import RankerConfig, ranker_config

__all__ = [
    "LightGBMRanker",
    "Ranker",
    "RankerConfig",
    "RankerError",
    "model_dir",
    "rank",
    "ranker_config",
    "run_two_stage",
    "train_ranker",
]
