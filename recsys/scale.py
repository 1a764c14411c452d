"""Settings that follow the data: the tiers of ``recsys/scaled.yml`` chosen by the input's size.

The pipeline's size-dependent settings (training folds, training-query sample, candidates per
generator, tuning budget and sampled val users, pruning of the costly generators, seed repeats)
are not a file the user must know about: :func:`derived_settings` reads the listen events of the
input (the row count in ``flat/<size>/listens.parquet``'s parquet footer: free at any size, known
before the build, the same for every command of a run) and returns the settings of every tier
of ``scaled.yml`` whose ``min_listens`` it reaches. ``recsys.pipeline_config`` layers them over
``defaults.yml`` and under a user's ``--config`` file, so a value the user sets always wins, and
records which values were derived and from what (:class:`DataScale`), for ``run_manifest.json``
and the report.

Example
-------
>>> scale = DataScale(listens=46_467_212, source="flat/50m/listens.parquet")
>>> derived_settings(scale)["ranker.max_train_queries"]
1500
>>> derived_settings(DataScale(listens=4_646_721, source="flat/small/listens.parquet"))
{}
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from recsys.state import data_profile

# the event files whose rows measure the input, in order of preference (the real Yambda layout
# may ship multi_event.parquet alone)
MEASURED_FILES = ("listens.parquet", "multi_event.parquet")


@dataclass(frozen=True)
class DataScale:
    """What the derived settings were chosen from: ``listens`` rows of the file ``source``."""

    listens: int
    source: str

    def describe(self) -> dict[str, Any]:
        return {"listens": self.listens, "source": self.source,
                "tiers": [t["name"] for t in tiers_reached(self)]}


@cache
def _tiers() -> tuple[dict, ...]:
    text = resources.files("recsys").joinpath("scaled.yml").read_text()
    tiers = yaml.safe_load(text)["tiers"]
    return tuple(sorted(tiers, key=lambda t: t["min_listens"]))


def tiers_reached(scale: DataScale | None) -> list[dict]:
    """The tiers of ``scaled.yml`` whose ``min_listens`` ``scale`` reaches, lowest first."""
    if scale is None:
        return []
    return [copy.deepcopy(t) for t in _tiers() if scale.listens >= t["min_listens"]]


def measure(data_dir: Path, size: str) -> DataScale | None:
    """The input's listen events: the rows of the first of :data:`MEASURED_FILES` under
    ``<data_dir>/flat/<size>`` (``recsys.state.data_profile``: parquet footers); None when none
    is readable (the build's own checks report a missing or damaged file)."""
    files = data_profile(Path(data_dir), size)["files"]
    for name in MEASURED_FILES:
        found = files.get(f"flat/{size}/{name}")
        if found is not None:
            return DataScale(found["rows"], f"flat/{size}/{name}") if "rows" in found else None
    return None


def derived_settings(scale: DataScale | None) -> dict[str, Any]:
    """The settings of every tier ``scale`` reaches by dotted key (``ranker.max_train_queries``),
    a higher tier's over a lower one's; ``{}`` below the first tier or when the scale is unknown.
    ``recsys.pipeline_config`` merges them over ``defaults.yml``."""
    out: dict[str, Any] = {}
    for tier in tiers_reached(scale):
        out.update(flatten(tier["settings"]))
    return out


def flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"ranker": {"max_train_queries": 1500}}`` -> ``{"ranker.max_train_queries": 1500}``;
    the per-model trial budgets stay one entry."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value and dotted not in _LEAF_MAPPINGS:
            out.update(flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


# mappings reported as one value (a model's parameters, the per-model trial budgets)
_LEAF_MAPPINGS = ("candidates.tuning.model_trials",)
