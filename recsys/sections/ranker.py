"""The ``ranker`` section: the two-stage recommender's settings, parsed and checked once.

Every value has a documented default in ``recsys/defaults.yml``; :func:`ranker_config` turns the
plain mapping into a frozen :class:`RankerConfig` and rejects values that cannot work, naming the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from recsys import protocol
from recsys.errors import ConfigError

DEFAULT_MODEL_NAME = "two_stage"


def fold_index(name: str) -> int:
    """``fold_index`` of a training fold name: ``val`` -> 1, ``val_<k>`` -> k (k >= 2).

    >>> fold_index("val"), fold_index("val_3")
    (1, 3)
    """
    k = protocol.fold_index(name)
    if not k:  # None, or 0: the evaluated fold
        val = protocol.VAL_FOLD
        raise ConfigError(
            f"{name!r} is not a training fold: use {val} or {val}_<k> (k >= 2, the folds built "
            f"with dbt var n_folds = k + 1); the {protocol.TEST_FOLD} fold is never trained on."
        )
    return k


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
    train_folds
        Folds whose candidates are stacked into the training set (``val``, ``val_2``, ...), each
        user of each fold one query group; the warehouse must be built with
        ``n_folds >= max fold index + 1`` (:func:`required_n_folds`).
    valid_share
        Share of the training users held out for early stopping (the same users in every fold).
    graded_labels
        ``None``: label 1 for a target, 0 otherwise; an integer c: the target's event count
        capped at c (LambdaRank gain 2^label - 1), so items the user came back to often weigh more.
    max_train_queries
        Training query groups (fold, user) at most, a seeded sample of them; the held-out users
        are capped in the same proportion. ``None``: all.
    max_train_users
        Evaluated users of each training fold (and target) the generators serve at most, a seeded
        sample (``recsys.candidates.store.candidate_users``); their candidates and features are
        all the ranker can learn from. ``None``: all.
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
    discovery_slots
        Places of each list kept for items the user never listened to (the best-scored of them,
        at the end of a list that would otherwise hold fewer), one value per option tried: the
        trained ranker keeps the one with the highest Recall@``top_k`` of its held-out val
        users (ties: the smaller). ``(0,)``: the ranker's order alone.
    compare_untuned
        Also train the same ranker on the untuned generators' candidates (``<model_name>_untuned``,
        ``PipelineConfig.untuned_ranker``); the report shows both and the one with the higher
        held-out val NDCG@10 is the headline two-stage model.
    """

    model_name: str = DEFAULT_MODEL_NAME
    models: tuple[str, ...] | None = None
    candidates_per_model: int = 200
    train_folds: tuple[str, ...] = (protocol.VAL_FOLD,)
    valid_share: float = 0.2
    max_train_queries: int | None = None
    max_train_users: int | None = None
    graded_labels: int | None = None
    seed: int = 42
    top_k: int = 100
    num_boost_round: int = 500
    early_stopping_rounds: int = 50
    exclude_features: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    compare_untuned: bool = True
    discovery_slots: tuple[int, ...] = (0,)

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


def _train_folds(section: Mapping[str, Any]) -> tuple[str, ...]:
    folds = section.get("train_folds", [protocol.VAL_FOLD])
    if isinstance(folds, str) or not isinstance(folds, Sequence) or not folds:
        raise ConfigError(f"ranker.train_folds = {folds!r} must be a non-empty list such as [val, val_2].")
    for name in folds:
        if not isinstance(name, str):
            raise ConfigError(f"ranker.train_folds: {name!r} is not a fold name (val, val_2, ...).")
        fold_index(name)
    if len(set(folds)) != len(folds):
        raise ConfigError(f"ranker.train_folds = {list(folds)!r} names a fold twice.")
    return tuple(sorted(folds, key=fold_index))


def _slots(section: Mapping[str, Any], top_k: int) -> tuple[int, ...]:
    slots = section.get("discovery_slots", [0])
    if (isinstance(slots, str) or not isinstance(slots, Sequence) or not slots
            or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= top_k
                       for v in slots)):
        raise ConfigError(f"ranker.discovery_slots = {slots!r} must be a non-empty list of integers "
                          f"in [0, evaluation.top_k = {top_k}], e.g. [0, 10, 20].")
    return tuple(sorted(set(slots)))


def required_n_folds(config: Mapping[str, Any]) -> int:
    """The dbt var ``n_folds`` that builds every fold the pipeline needs (test, val, ``train_folds``).

    >>> required_n_folds({"ranker": {"train_folds": ["val", "val_3"]}})
    4
    """
    ranker = getattr(config, "ranker", None)  # a parsed PipelineConfig has it typed
    folds = ranker.train_folds if isinstance(ranker, RankerConfig) \
        else _train_folds(dict(config.get("ranker") or {}))
    return max(2, *(fold_index(f) + 1 for f in folds))


def ranker_config(config: Mapping[str, Any]) -> RankerConfig:
    """Build a :class:`RankerConfig` from the whole raw pipeline config (its ``ranker:`` section):
    ``recsys.pipeline_config.parse_config`` calls it once; a parsed config has it as
    ``config.ranker``.

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
    max_queries = section.get("max_train_queries")
    if max_queries is not None:
        max_queries = _positive_int(section, "max_train_queries", 1)
    max_users = section.get("max_train_users")
    if max_users is not None:
        max_users = _positive_int(section, "max_train_users", 1)
    graded = section.get("graded_labels")
    if graded is not None:
        graded = _positive_int(section, "graded_labels", 1)
        if graded > 30:
            raise ConfigError(f"ranker.graded_labels = {graded} must be <= 30 (LightGBM's label_gain).")
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
        train_folds=_train_folds(section),
        valid_share=float(share),
        max_train_queries=max_queries,
        max_train_users=max_users,
        graded_labels=graded,
        seed=seed,
        top_k=_positive_int(evaluation, "top_k", 100),
        num_boost_round=_positive_int(section, "num_boost_round", 500),
        early_stopping_rounds=_positive_int(section, "early_stopping_rounds", 50),
        exclude_features=tuple(exclude),
        params=dict(params),
        compare_untuned=bool(section.get("compare_untuned", True)),
        discovery_slots=_slots(section, _positive_int(evaluation, "top_k", 100)),
    )
