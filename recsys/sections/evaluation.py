"""The ``evaluation`` section: cut-offs, list depth, intervals, conventions, seed repeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from recsys.errors import ConfigError
from recsys.sections.generators import check_named

# metric conventions (sql/metrics/README.md): the first is the default
CONVENTIONS = ("standard", "paper", "official")


def check_conventions(conventions: Sequence[str]) -> list[str]:
    """The convention names, validated and deduplicated (unknown names raise, listing the valid)."""
    conventions = list(dict.fromkeys(conventions))
    unknown = [c for c in conventions if c not in CONVENTIONS]
    if unknown or not conventions:
        raise ConfigError(
            f"Unknown metric convention(s) {', '.join(unknown) or '(none given)'}. Valid: "
            f"{', '.join(CONVENTIONS)} (e.g. --convention standard,paper)."
        )
    return conventions


def evaluation_settings(config: Mapping[str, Any]) -> dict:
    """The ``evaluation`` section, checked: positive cut-offs, none above ``top_k``."""
    ev = dict(config["evaluation"])
    ks = [int(k) for k in ev["ks"]]
    top_k = int(ev["top_k"])
    if not ks or min(ks) < 1 or max(ks) > top_k:
        raise ConfigError(
            f"evaluation.ks={ks} must be positive and at most evaluation.top_k={top_k} "
            "(recommendations keep only top_k items per user); raise top_k or lower ks."
        )
    if not 0 < float(ev["confidence"]) < 1 or int(ev["bootstrap_samples"]) < 1:
        raise ConfigError("evaluation.confidence must lie in (0, 1) and bootstrap_samples be >= 1.")
    conventions = check_conventions(ev.get("conventions") or ["standard"])
    diversity_ks = [int(k) for k in (ev.get("diversity_ks") or ks)]
    if min(diversity_ks) < 1 or max(diversity_ks) > top_k:
        raise ConfigError(f"evaluation.diversity_ks={diversity_ks} must lie in 1..top_k={top_k}.")
    return {**ev, "ks": ks, "top_k": top_k, "diversity_ks": diversity_ks, "conventions": conventions}


def seed_run_settings(config: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    """``(models, seeds)`` of ``evaluation.seed_runs``, checked; no repeat with fewer than 2 seeds."""
    cfg = (config.get("evaluation") or {}).get("seed_runs") or {}
    models, seeds = list(cfg.get("models") or []), list(cfg.get("seeds") or [])
    check_named("evaluation.seed_runs.models", models)
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) \
            or len(set(seeds)) != len(seeds) or len(seeds) > 10:
        raise ConfigError(f"evaluation.seed_runs.seeds must be at most 10 distinct non-negative "
                          f"integers, got {seeds!r}.")
    return (models, seeds) if len(seeds) >= 2 else ([], seeds)
