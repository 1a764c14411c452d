"""Generator names -> classes, in report order, and construction with clear errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recsys.candidates.audio import AudioGenerator
from recsys.candidates.base import CandidateGenerator
from recsys.candidates.factorization import BPRGenerator, IALSGenerator
from recsys.candidates.history import HistoryGenerator
from recsys.candidates.itemknn import ItemKNNGenerator
from recsys.candidates.popularity import DecayPopGenerator, MostPopGenerator, RandomGenerator
from recsys.errors import ConfigError

GENERATORS: dict[str, type[CandidateGenerator]] = {
    cls.name: cls
    for cls in (
        RandomGenerator, MostPopGenerator, DecayPopGenerator, HistoryGenerator,
        ItemKNNGenerator, IALSGenerator, BPRGenerator, AudioGenerator,
    )
}  # fmt: skip


def check_models(models: Iterable[str]) -> list[str]:
    """The model names, validated (unknown names raise, listing the valid ones)."""
    models = list(models)
    unknown = [m for m in models if m not in GENERATORS]
    if unknown:
        raise ConfigError(
            f"Unknown candidate model(s): {', '.join(unknown)}. "
            f"Valid names: {', '.join(GENERATORS)}."
        )
    if not models:
        raise ConfigError(f"No candidate model given. Valid names: {', '.join(GENERATORS)}.")
    return list(dict.fromkeys(models))


def make_generator(name: str, *, seed: int, params: dict[str, Any] | None = None) -> CandidateGenerator:
    """A fresh, unfitted generator ``name`` with ``params`` over its defaults."""
    check_models([name])
    return GENERATORS[name](seed=seed, **(params or {}))
