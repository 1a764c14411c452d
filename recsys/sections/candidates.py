"""The ``candidates`` section: list length, the tuning objective, trial budgets, val-user sample."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from recsys.columns import TARGETS
from recsys.errors import ConfigError
from recsys.sections.generators import check_named

# the metrics a tuning objective may name (``ndcg@100``): what ``recsys.candidates.tuning``
# computes on val
TUNING_METRICS = ("ndcg", "recall")


def validate_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ConfigError(f"n (top-N per user) must be a positive integer, got {n!r}.")
    return int(n)


def parse_metric(spec: str) -> tuple[str, int]:
    """``"ndcg@100"`` -> ``("ndcg", 100)``."""
    name, _, k = str(spec).partition("@")
    if name not in TUNING_METRICS or not k.isdigit() or int(k) < 1:
        raise ConfigError(
            f"Tuning metric {spec!r} is not valid; use one of {', '.join(TUNING_METRICS)} with a "
            "cut-off, e.g. 'ndcg@100' or 'recall@100'."
        )
    return name, int(k)


def tuning_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``candidates.tuning`` of the raw config, checked (metric, trial budget, val-user sample)."""
    cfg = dict(config["candidates"].get("tuning") or {})
    parse_metric(cfg.get("metric", "ndcg@100"))
    trials, max_users = cfg.get("trials", 10), cfg.get("max_users")
    per_model = dict(cfg.get("model_trials") or {})
    targets = {key.split(".")[0] for key in per_model if "." in key}
    if targets - set(TARGETS):
        raise ConfigError(f"candidates.tuning.model_trials: {', '.join(sorted(targets - set(TARGETS)))} "
                          f"is not a target; a key is a model or <target>.<model>, target one of "
                          f"{', '.join(TARGETS)}.")
    check_named("candidates.tuning.model_trials", {key.split(".")[-1] for key in per_model})
    for where, value in [("trials", trials), *((f"model_trials.{m}", v) for m, v in per_model.items())]:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise ConfigError(f"candidates.tuning.{where} must be an integer in 1..1000, got {value!r}.")
    if max_users is not None and (isinstance(max_users, bool) or not isinstance(max_users, int)
                                  or max_users < 1):
        raise ConfigError(f"candidates.tuning.max_users must be a positive integer or null, got {max_users!r}.")
    return {"metric": cfg.get("metric", "ndcg@100"), "trials": trials, "max_users": max_users,
            "model_trials": per_model, "search_space": cfg.get("search_space") or {}}
