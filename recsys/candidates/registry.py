"""Generator names -> classes, in report order (``recsys.sections.generators.NAMES``), and
construction with clear errors."""

from __future__ import annotations

from typing import Any

from recsys.candidates.audio import AudioGenerator
from recsys.candidates.base import CandidateGenerator
from recsys.candidates.factorization import BPRGenerator, IALSGenerator
from recsys.candidates.history import HistoryGenerator
from recsys.candidates.itemknn import ItemKNNGenerator
from recsys.candidates.popularity import DecayPopGenerator, MostPopGenerator, RandomGenerator
from recsys.sections.generators import NAMES, check_models

__all__ = ["GENERATORS", "check_models", "make_generator"]

_CLASSES = {cls.name: cls for cls in (
    RandomGenerator, MostPopGenerator, DecayPopGenerator, HistoryGenerator,
    ItemKNNGenerator, IALSGenerator, BPRGenerator, AudioGenerator,
)}  # fmt: skip
if set(_CLASSES) != set(NAMES):  # pragma: no cover (a generator added in one place only)
    raise ImportError(f"Generator classes {sorted(_CLASSES)} and recsys.sections.generators "
                      f"{sorted(NAMES)} name different generators; add the missing one to both.")
GENERATORS: dict[str, type[CandidateGenerator]] = {name: _CLASSES[name] for name in NAMES}


def make_generator(name: str, *, seed: int, params: dict[str, Any] | None = None) -> CandidateGenerator:
    """A fresh, unfitted generator ``name`` with ``params`` over its defaults."""
    check_models([name])
    return GENERATORS[name](seed=seed, **(params or {}))
