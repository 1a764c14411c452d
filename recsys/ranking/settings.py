"""dbt vars the ranker's settings imply (its section lives in ``recsys.sections.ranker``)."""

from __future__ import annotations

from typing import Any

from recsys.pipeline_config import as_config
from recsys.sections.generators import NAMES
from recsys.sections.ranker import required_n_folds


def dbt_vars(config) -> dict[str, Any]:
    """dbt vars implied by the pipeline config, for every warehouse build.

    ``n_folds`` builds every training fold; ``candidate_max_rank`` keeps only the candidates the
    ranker reads (rank <= ``ranker.candidates_per_model``) in ``candidate_features``, or all
    (``None``) when that is every candidate (``>= candidates.top_n``); ``candidate_models`` is
    every generator (``recsys.sections.generators.NAMES``: the mart's columns) and the untuned
    variants a ranker merges; ``ranker_models`` the generators the rankers merge
    (``PipelineConfig.mart_models``: the mart's rows; candidates of other models in
    ``candidates`` are never read).
    """
    config = as_config(config)
    per_model, top_n = config.ranker.candidates_per_model, config.candidates.top_n
    max_rank = None if per_model >= top_n else per_model
    return {"n_folds": required_n_folds(config), "candidate_max_rank": max_rank,
            # every generator and the merged variants: the mart's columns
            "candidate_models": list(dict.fromkeys([*NAMES, *config.mart_models])),
            "ranker_models": config.mart_models}
