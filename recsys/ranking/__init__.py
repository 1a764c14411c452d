"""Two-stage recommender: LightGBM LambdaRank re-ranking of merged candidates.

Entry points: :func:`train_ranker` (one model per target on the training folds) and :func:`rank`
(a fold's candidates re-ranked into ``recommendations``); ``recsys.pipeline.run_two_stage``
runs them after making sure the candidates and the feature mart are fresh. See
``recsys/ranking/dataset.py`` for how the ranking table is built and ``recsys/defaults.yml``
(``ranker:``) for the settings.
"""

from recsys.ranking.model import LightGBMRanker, Ranker, RankerError
from recsys.ranking.ranker import model_dir, rank, train_ranker
from recsys.sections.ranker import RankerConfig, ranker_config

__all__ = [
    "LightGBMRanker",
    "Ranker",
    "RankerConfig",
    "RankerError",
    "model_dir",
    "rank",
    "ranker_config",
    "train_ranker",
]
