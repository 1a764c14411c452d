"""The candidate generators as the config knows them: names in report order, parameters with
their default values.

This is where a generator's parameters are defined: its class in ``recsys.candidates`` reads
``defaults`` from here (``recsys.candidates.registry`` checks both name the same generators), so a
config naming a generator or a parameter is checked without importing the model code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from recsys.errors import ConfigError
from recsys.sections import search_space

PARAMETERS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    name: MappingProxyType(params) for name, params in {
        "random": {},
        "mostpop": {},
        "decaypop": {"hours": 6.0},
        "history": {"half_life_days": 7.0, "drop_disliked": True},
        "itemknn": {"k": 100, "half_life_days": 7.0, "exclude_seen": False, "recent_items": 100,
                    "min_item_users": 1, "profile_vectors": "unit"},
        "ials": {"factors": 64, "iterations": 5, "regularization": 0.01, "alpha": 10.0,
                 "bm25": False, "bm25_k1": 1.2, "bm25_b": 0.75, "dislike_weight": 0.0,
                 "exclude_seen": False, "recent_items": 100, "num_threads": 2},
        "bpr": {"factors": 64, "iterations": 50, "learning_rate": 0.05, "regularization": 0.01,
                "exclude_seen": False, "recent_items": 100},
        "audio": {"profile_items": 50, "half_life_days": 7.0, "exclude_seen": False},
        "artist": {"half_life_days": 30.0, "popularity_days": 7.0, "popularity_power": 1.0,
                   "top_groups": 20, "exclude_seen": True},
        "album": {"half_life_days": 30.0, "popularity_days": 7.0, "popularity_power": 1.0,
                  "top_groups": 20, "exclude_seen": True},
        "fresh": {"max_age_days": 30.0, "popularity_days": 3.0, "taste_weight": 5.0,
                  "profile_items": 50, "half_life_days": 7.0, "exclude_seen": True},
    }.items()
})  # fmt: skip

# ``<name>_unseen``: a collaborative generator as a discovery source, a model of its own whose
# lists leave out the user's own items (``exclude_seen`` fixed on, not searched), so the ranker
# gets both views of the same model: its best items overall and its best new ones
UNSEEN = "_unseen"
UNSEEN_OF = ("itemknn", "ials", "bpr", "audio")
PARAMETERS = MappingProxyType({
    **PARAMETERS,
    **{f"{model}{UNSEEN}": MappingProxyType({**PARAMETERS[model], "exclude_seen": True})
       for model in UNSEEN_OF},
})
NAMES: tuple[str, ...] = tuple(PARAMETERS)
# the discovery sources: generators that propose only items the user has not played by default;
# each is tuned on the val fold's discovery targets (``eval_targets.is_repeat`` = 0)
DISCOVERY: frozenset[str] = frozenset(
    name for name, params in PARAMETERS.items() if params.get("exclude_seen") is True)

# ``<name>_untuned``: generator ``<name>`` with its code defaults (and ``candidates.params``),
# never the values tuned on val, as a model of its own (its own ``candidates`` slices and
# ``rank_<name>_untuned`` column), so the ranker can be trained on either candidate set
UNTUNED = "_untuned"


def untuned_name(model: str) -> str:
    """``ials`` -> ``ials_untuned``."""
    return f"{model}{UNTUNED}"


def base_name(name: str) -> str:
    """The generator a model name fits: ``ials_untuned`` -> ``ials``; ``ials`` -> ``ials``.

    >>> base_name("itemknn_untuned"), base_name("itemknn"), base_name("nope_untuned")
    ('itemknn', 'itemknn', 'nope_untuned')
    """
    base = name.removesuffix(UNTUNED)
    return base if base != name and base in PARAMETERS else name


def is_untuned(name: str) -> bool:
    return base_name(name) != name


def check_models(models: Iterable[str]) -> list[str]:
    """The model names, validated and deduplicated (unknown names raise, listing the valid ones).
    ``<generator>_untuned`` names a generator fitted with its code defaults (:data:`UNTUNED`)."""
    models = list(models)
    unknown = [m for m in models if base_name(m) not in PARAMETERS]
    if unknown:
        raise ConfigError(f"Unknown candidate model(s): {', '.join(unknown)}. "
                          f"Valid names: {', '.join(NAMES)} (or <name>{UNTUNED}: code defaults).")
    if not models:
        raise ConfigError(f"No candidate model given. Valid names: {', '.join(NAMES)}.")
    return list(dict.fromkeys(models))


def check_named(where: str, models: Iterable[str]) -> None:
    """``where`` (a config key) names known generators only."""
    unknown = sorted(set(models) - set(PARAMETERS))
    if unknown:
        raise ConfigError(f"{where} names unknown model(s) {', '.join(unknown)}. "
                          f"Valid names: {', '.join(NAMES)}.")


def check_parameters(model: str, params: Mapping[str, Any] | None,
                     known: Mapping[str, Any] | None = None) -> None:
    """``params`` are parameters of generator ``model`` (``known``: its parameters, by default
    :data:`PARAMETERS`'s)."""
    known = PARAMETERS[model] if known is None else known
    unknown = sorted(set(params or {}) - set(known))
    if unknown:
        known = ", ".join(sorted(known)) or "(none)"
        raise ConfigError(f"Unknown parameter(s) {', '.join(unknown)} for generator '{model}'. "
                          f"Known parameters: {known}.")


def check_params(explicit: Mapping[str, Any], space: Mapping[str, Any], models: Sequence[str]
                 ) -> None:
    """``candidates.params`` and the search spaces name known generators and parameters."""
    check_named("candidates.params", explicit)
    check_named("candidates.tuning.search_space", space)
    for model in dict.fromkeys(map(base_name, check_models(models))):
        check_parameters(model, explicit.get(model))
        searched_space(model, space.get(model), explicit.get(model) or {})


def searched_space(model: str, space: Mapping[str, Any] | None, explicit: Mapping[str, Any]
                   ) -> dict[str, Any]:
    """The distributions searched for ``model``: its config space minus explicitly set params."""
    dists = search_space.distributions(model, space or {}, PARAMETERS[model])
    return {name: d for name, d in dists.items() if name not in explicit}
