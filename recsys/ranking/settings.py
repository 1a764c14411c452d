"""The ``ranker:`` section of the pipeline config, parsed and checked once.

Every value has a documented default in ``recsys/defaults.yml``; this module turns the plain
mapping into a frozen :class:`RankerConfig` and rejects values that cannot work, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recsys.errors import ConfigError

DEFAULT_MODEL_NAME = "two_stage"


@dataclass(frozen=True)
class RankerConfig:
    """Settings of the two-stage recommender.

    Attributes
    ----------
    model_name
        Value of ``model`` in ``recommendations`` for the re-ranked lists.
    models
        Generators whose candidates are merged; ``None`` merges ``candidates.models``.
    candidates_per_model
        N: a candidate enters the merged set if any merged generator ranks it at ``<= N``.
    valid_share
        Share of the val users (with a positive candidate) held out for early stopping.
    seed
        Seed of the user split and of LightGBM.
    top_k
        Recommendations written per user.
    num_boost_round, early_stopping_rounds
        Boosting rounds at most, and rounds without NDCG gain on the held-out users before stopping.
    exclude_features
        Numeric columns of ``candidate_features`` that are never features (ids, absolute times).
    params
        LightGBM parameters (objective, learning rate, leaves, ...): ``ranker.params`` with
        ``ranker.extra_params`` (any other LightGBM parameter) merged over it.
    """

    model_name: str = DEFAULT_MODEL_NAME
    models: tuple[str, ...] | None = None
    candidates_per_model: int = 200
    valid_share: float = 0.2
    seed: int = 42
    top_k: int = 100
    num_boost_round: int = 500
    early_stopping_rounds: int = 50
    exclude_features: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def lightgbm_params(self) -> dict[str, Any]:
        """LightGBM parameters with the determinism switches and the seed filled in."""
        params = {
            "objective": "lambdarank",
            "metric": "ndcg",
            "eval_at": [10],
            "verbosity": -1,
        }
        params.update(dict(self.params))
        params.update(
            {
                "seed": self.seed,
                "deterministic": True,
                "force_row_wise": True,
                "num_threads": int(params.get("num_threads") or 2),
            }
        )
        return params


def _positive_int(section: Mapping[str, Any], key: str, default: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"ranker.{key} = {value!r} must be a positive integer.")
    return value


def ranker_config(config: Mapping[str, Any]) -> RankerConfig:
    """Build a :class:`RankerConfig` from the whole pipeline config (its ``ranker:`` section).

    ``top_k`` comes from ``evaluation.top_k`` so every model is cut at the same depth.
    """
    section = dict(config.get("ranker") or {})
    models = section.get("models")
    if models is not None:
        if isinstance(models, str) or not all(isinstance(m, str) for m in models) or not models:
            raise ConfigError(f"ranker.models = {models!r} must be a non-empty list of generator names or null.")
        models = tuple(models)
    share = section.get("valid_share", 0.2)
    if not isinstance(share, int | float) or not 0 <= share < 1:
        raise ConfigError(f"ranker.valid_share = {share!r} must be a number in [0, 1).")
    seed = section.get("seed", config.get("seed", 42))
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"ranker.seed = {seed!r} must be an integer.")
    params = section.get("params") or {}
    extra = section.get("extra_params") or {}
    for key, value in (("params", params), ("extra_params", extra)):
        if not isinstance(value, Mapping):
            raise ConfigError(f"ranker.{key} must be a mapping of LightGBM parameters, not {value!r}.")
    params = {**params, **extra}
    exclude = section.get("exclude_features") or ()
    evaluation = config.get("evaluation") or {}
    return RankerConfig(
        model_name=str(section.get("model_name", DEFAULT_MODEL_NAME)),
        models=models,
        candidates_per_model=_positive_int(section, "candidates_per_model", 200),
        valid_share=float(share),
        seed=seed,
        top_k=_positive_int(evaluation, "top_k", 100),
        num_boost_round=_positive_int(section, "num_boost_round", 500),
        early_stopping_rounds=_positive_int(section, "early_stopping_rounds", 50),
        exclude_features=tuple(exclude),
        params=dict(params),
    )
