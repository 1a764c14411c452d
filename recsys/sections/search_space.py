"""Search spaces of the tuned hyperparameters, from ``candidates.search_space`` of the config.

A space maps each searched parameter of a generator to either

* a list of values (a categorical choice, e.g. ``exclude_seen: [false, true]``), or
* a range ``{low: 1e-5, high: 1.0, log: true}`` (floats) or ``{low: 10, high: 500, log: true,
  type: int}`` (integers), sampled uniformly (on a log scale with ``log: true``).

A space whose parameters are all lists and whose grid has at most ``trials`` points is searched
exhaustively (every point once); otherwise Optuna's TPE sampler draws ``trials`` points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import optuna

from recsys.errors import ConfigError

RANGE_KEYS = frozenset({"low", "high", "log", "type"})


def distributions(model: str, space: Mapping[str, Any], known: Mapping[str, Any]
                  ) -> dict[str, optuna.distributions.BaseDistribution]:
    """Optuna distributions of ``space``; ``known`` = the generator's parameters and defaults."""
    if not isinstance(space, Mapping):
        raise ConfigError(f"candidates.search_space.{model} must be a mapping of parameters, got {space!r}.")
    out: dict[str, optuna.distributions.BaseDistribution] = {}
    for name, spec in space.items():
        where = f"candidates.search_space.{model}.{name}"
        if name not in known:
            raise ConfigError(
                f"{where}: '{name}' is not a parameter of generator '{model}'. "
                f"Known parameters: {', '.join(sorted(known)) or '(none)'}."
            )
        if isinstance(spec, list):
            if not spec:
                raise ConfigError(f"{where} must be a non-empty list of values or a range {{low, high}}.")
            out[name] = optuna.distributions.CategoricalDistribution(spec)
        elif isinstance(spec, Mapping):
            out[name] = _range(where, spec)
        else:
            raise ConfigError(
                f"{where} must be a list of values ([a, b]) or a range ({{low: a, high: b, log: true}}), "
                f"got {spec!r}."
            )
    return out


def _range(where: str, spec: Mapping[str, Any]) -> optuna.distributions.BaseDistribution:
    unknown = sorted(set(spec) - RANGE_KEYS)
    if unknown or "low" not in spec or "high" not in spec:
        raise ConfigError(
            f"{where}: a range needs low and high (and optionally log: true, type: int); "
            f"got {dict(spec)!r}."
        )
    kind = spec.get("type", "float")
    if kind not in ("int", "float"):
        raise ConfigError(f"{where}: type must be int or float, got {kind!r}.")
    low, high, log = spec["low"], spec["high"], bool(spec.get("log", False))
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
    if not numbers or not low <= high or (log and low <= 0):
        raise ConfigError(f"{where}: needs numbers low <= high (low > 0 with log: true), got {low!r}, {high!r}.")
    if kind == "int":
        return optuna.distributions.IntDistribution(int(low), int(high), log=log)
    return optuna.distributions.FloatDistribution(float(low), float(high), log=log)


def grid(dists: Mapping[str, optuna.distributions.BaseDistribution]) -> dict[str, list] | None:
    """The full grid when every parameter is categorical, else None."""
    if not dists or not all(isinstance(d, optuna.distributions.CategoricalDistribution)
                            for d in dists.values()):
        return None
    return {name: list(d.choices) for name, d in dists.items()}


def grid_size(points: Mapping[str, list]) -> int:
    return math.prod(len(v) for v in points.values())


def contains(dist: optuna.distributions.BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a point of ``dist`` (the default fit's value, enqueued first)."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return any(_same(value, choice) for choice in dist.choices)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return dist.low <= value <= dist.high


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b  # True is not the number 1 here
    return a == b


def describe(space: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able, key-sorted copy of a space (part of the tuning fingerprint and the report)."""
    return {name: (list(spec) if isinstance(spec, list) else dict(sorted(spec.items())))
            for name, spec in sorted(space.items())}
