"""Generator names -> classes, in report order (``recsys.sections.generators.NAMES``), and
construction with clear errors."""

from __future__ import annotations

from typing import Any

from recsys.candidates.audio import AudioGenerator
from recsys.candidates.base import CandidateGenerator
from recsys.candidates.continuation import AlbumGenerator, ArtistGenerator
from recsys.candidates.factorization import BPRGenerator, IALSGenerator
from recsys.candidates.fresh import FreshGenerator
from recsys.candidates.history import HistoryGenerator
from recsys.candidates.itemknn import ItemKNNGenerator
from recsys.candidates.popularity import DecayPopGenerator, MostPopGenerator, RandomGenerator
from recsys.sections.generators import NAMES, PARAMETERS, UNSEEN, UNSEEN_OF, base_name, check_models

__all__ = ["GENERATORS", "check_models", "generator_class", "make_generator"]

_CLASSES = {cls.name: cls for cls in (
    RandomGenerator, MostPopGenerator, DecayPopGenerator, HistoryGenerator,
    ItemKNNGenerator, IALSGenerator, BPRGenerator, AudioGenerator, ArtistGenerator, AlbumGenerator,
    FreshGenerator,
)}  # fmt: skip



# the discovery sources ``<name>_unseen`` (recsys.sections.generators.UNSEEN_OF): the same class
# under its own name and defaults (module-level classes, so fitted generators pickle)
class ItemKNNUnseenGenerator(ItemKNNGenerator):
    name, defaults = "itemknn_unseen", PARAMETERS["itemknn_unseen"]


class IALSUnseenGenerator(IALSGenerator):
    name, defaults = "ials_unseen", PARAMETERS["ials_unseen"]


class BPRUnseenGenerator(BPRGenerator):
    name, defaults = "bpr_unseen", PARAMETERS["bpr_unseen"]


class AudioUnseenGenerator(AudioGenerator):
    name, defaults = "audio_unseen", PARAMETERS["audio_unseen"]


_CLASSES.update({cls.name: cls for cls in (
    ItemKNNUnseenGenerator, IALSUnseenGenerator, BPRUnseenGenerator, AudioUnseenGenerator)})
if {f"{model}{UNSEEN}" for model in UNSEEN_OF} - set(_CLASSES):  # pragma: no cover
    raise ImportError("A generator of recsys.sections.generators.UNSEEN_OF has no *_unseen class.")
if set(_CLASSES) != set(NAMES):  # pragma: no cover (a generator added in one place only)
    raise ImportError(f"Generator classes {sorted(_CLASSES)} and recsys.sections.generators "
                      f"{sorted(NAMES)} name different generators; add the missing one to both.")
GENERATORS: dict[str, type[CandidateGenerator]] = {name: _CLASSES[name] for name in NAMES}


def generator_class(name: str) -> type[CandidateGenerator]:
    """The class that fits model ``name`` (``ials_untuned`` is fitted by ``ials``'s)."""
    check_models([name])
    return GENERATORS[base_name(name)]


def make_generator(name: str, *, seed: int, params: dict[str, Any] | None = None) -> CandidateGenerator:
    """A fresh, unfitted generator ``name`` with ``params`` over its defaults; a variant name
    (``ials_untuned``) is its generator's class under that name (what its candidates are
    written as)."""
    generator = generator_class(name)(seed=seed, **(params or {}))
    generator.name = name
    return generator
