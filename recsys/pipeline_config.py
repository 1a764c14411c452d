"""Pipeline settings (models, N, seeds, hyperparameters) from ``recsys/defaults.yml``.

A user file given with ``--config`` is deep-merged over the defaults; unknown keys and values of
the wrong kind are an error so a typo never passes silently (:func:`load_config`). The merged
mapping is then parsed once into a typed :class:`PipelineConfig` (:func:`parse_config`; each
section's parser is in ``recsys.sections``); the stages read that object, never the raw mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from recsys.errors import ConfigError
from recsys.scale import derived_settings, measure
from recsys.sections.candidates import tuning_settings, validate_n
from recsys.sections.evaluation import evaluation_settings, seed_run_settings
from recsys.sections.generators import check_models, check_params, searched_space, untuned_name
from recsys.sections.ranker import RankerConfig, ranker_config


def default_config() -> dict[str, Any]:
    text = resources.files("recsys").joinpath("defaults.yml").read_text()
    return yaml.safe_load(text)


# mappings whose entries a user file replaces whole instead of merging into: a model's search
# space (a parameter may change from a list of values to a range)
REPLACED_WHOLE = ("candidates.tuning.search_space",)
# mappings keyed by model (or <target>.<model>): any key may be added; a model's entry merges
# into the one below it (a file's {itemknn: {k: 200}} over the data's {itemknn: {recent_items: 100}})
OPEN_KEYS = ("candidates.params", "candidates.tuning.model_trials")
PARAMS_PREFIX = "candidates.params."  # a model's parameters: checked by check_params, not here


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    if where in REPLACED_WHOLE:
        out.update(copy.deepcopy(override))
        return out
    for key, value in override.items():
        path = f"{where}.{key}" if where else key
        if key not in base and (where in OPEN_KEYS or where.startswith(PARAMS_PREFIX)):
            out[key] = copy.deepcopy(value)
            continue
        if key not in base:
            known = ", ".join(sorted(base)) or "(none)"
            raise ConfigError(f"Unknown config key '{path}'. Known keys here: {known}.")
        if isinstance(base[key], dict) and base[key] and isinstance(value, dict):
            out[key] = _merge(base[key], value, path)
        else:
            _check_type(base[key], value, path)
            out[key] = copy.deepcopy(value)
    return out


def _check_type(default: Any, value: Any, path: str) -> None:
    """A value of the default's kind: a number for a number, a list for a list, ... (null: any)."""
    if default is None or value is None and isinstance(default, (list, dict)):
        return
    if isinstance(default, bool):
        ok, kind = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, kind = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, kind = isinstance(value, str), "a string"
    elif isinstance(default, list):
        ok, kind = isinstance(value, list), "a list ([a, b])"
    elif isinstance(default, dict):
        ok, kind = isinstance(value, dict), "a mapping (key: value)"
    else:
        return
    if not ok:
        raise ConfigError(
            f"Config key '{path}' must be {kind}, got {value!r} (default: {default!r})."
        )


def load_config(path: Path | str | None = None,
                derived: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The defaults, the settings ``derived`` from the data (dotted keys, ``recsys.scale``) over
    them unless the file turns them off (``derive_from_data: false``), and the YAML file at
    ``path`` (if any) over both."""
    config = default_config()
    user = {} if path is None else _read_file(path)
    if derived and user.get("derive_from_data", config["derive_from_data"]):
        config = _merge(config, _nested(derived), "")
    return _merge(config, user, "")


def _read_file(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist. Pass an existing YAML file to --config.")
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(user, dict):
        raise ConfigError(f"Config file {path} must hold a mapping (key: value), not {type(user).__name__}.")
    return user


# ------------------------------------------------------------------------ the typed config
@dataclass(frozen=True)
class TuningConfig:
    """``candidates.tuning``: objective, trial budgets, val-user sample, search spaces."""

    metric: str
    trials: int
    max_users: int | None
    model_trials: dict[str, int]
    search_space: dict[str, dict]

    def trials_of(self, model: str, target: str | None = None) -> int:
        """The trial budget of ``model`` on ``target``: ``model_trials["<target>.<model>"]``, else
        ``model_trials[model]``, else ``trials``."""
        budget = self.model_trials.get(model, self.trials)
        return int(self.model_trials.get(f"{target}.{model}", budget) if target else budget)


@dataclass(frozen=True)
class CandidatesConfig:
    """``candidates``: the generators, list length, explicit parameters, tuning."""

    models: tuple[str, ...]
    top_n: int
    params: dict[str, dict]
    tune: bool
    tuning: TuningConfig

    def params_of(self, model: str) -> dict:
        """``candidates.params.<model>`` (the values that win over tuned ones)."""
        return dict(self.params.get(model) or {})

    def tunable(self, models) -> list[str]:
        """Those of ``models`` tuning would tune: a non-empty search space left once
        ``params`` are fixed (``random`` never; an ``_untuned`` variant never)."""
        space = self.tuning.search_space
        return [m for m in check_models(models) if m != "random" and m in space
                and searched_space(m, space[m], self.params_of(m))]


@dataclass(frozen=True)
class SeedRuns:
    """``evaluation.seed_runs``: models refitted once per extra seed (none with < 2 seeds)."""

    models: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclass(frozen=True)
class EvaluationConfig:
    """``evaluation``: cut-offs, list depth, intervals, conventions, seed repeats."""

    ks: tuple[int, ...]
    top_k: int
    bootstrap_samples: int
    confidence: float
    conventions: tuple[str, ...]
    diversity_ks: tuple[int, ...]
    seed_runs: SeedRuns


@dataclass(frozen=True)
class ValidationConfig:
    """``validation``: the bounds of the data's values (``recsys.data.validate.content_checks``)."""

    max_duplicate_share: float = 0.01
    max_played_ratio_pct: int = 1000


def validation_settings(raw: Mapping[str, Any]) -> ValidationConfig:
    """The ``validation`` section, checked (a share in [0, 1], a positive bound)."""
    section = dict(raw.get("validation") or {})
    share = section.get("max_duplicate_share", ValidationConfig.max_duplicate_share)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ConfigError(f"validation.max_duplicate_share = {share!r} must be a share in [0, 1].")
    bound = section.get("max_played_ratio_pct", ValidationConfig.max_played_ratio_pct)
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 100:
        raise ConfigError(f"validation.max_played_ratio_pct = {bound!r} must be an integer >= 100.")
    return ValidationConfig(float(share), bound)


@dataclass(frozen=True)
class PipelineConfig:
    """The whole pipeline config, parsed and checked once (:func:`parse_config`).

    ``raw`` is the merged mapping it was parsed from: what manifests and saved models record.
    """

    seed: int
    candidates: CandidatesConfig
    evaluation: EvaluationConfig
    ranker: RankerConfig
    raw: dict[str, Any] = field(repr=False)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    # the values that came from the data's size (dotted key -> value; ``recsys.scale``), and the
    # measure they were chosen from (listens, source file, tiers); empty / None: none derived
    derived: dict[str, Any] = field(default_factory=dict)
    scale: dict[str, Any] | None = None

    @property
    def two_stage_name(self) -> str:
        return self.ranker.model_name

    @property
    def merged_models(self) -> list[str]:
        """Generators whose candidates the ranker merges: ``ranker.models``, else
        ``candidates.models`` (the only ones ``candidate_features`` reads: dbt var ranker_models)."""
        models = self.ranker.models
        return list(models if models is not None else self.candidates.models)

    @cached_property
    def untuned_ranker(self) -> PipelineConfig | None:
        """The config of the second two-stage model ``ranker.compare_untuned`` trains: the same
        ranker on the candidates of the merged generators with their code defaults (each tunable
        one as ``<name>_untuned``), named ``<ranker.model_name>_untuned``. None when tuning is off
        (the candidates are untuned already), the switch is off, or nothing merged is tunable."""
        if not (self.candidates.tune and self.ranker.compare_untuned):
            return None
        tunable = set(self.candidates.tunable(self.merged_models))
        if not tunable:
            return None
        return self.with_({
            "ranker.models": [untuned_name(m) if m in tunable else m for m in self.merged_models],
            "ranker.model_name": untuned_name(self.two_stage_name),
            "ranker.compare_untuned": False})

    @property
    def rankers(self) -> list[PipelineConfig]:
        """The two-stage models a run trains: this config's, then :attr:`untuned_ranker`'s."""
        return [self, *([self.untuned_ranker] if self.untuned_ranker else [])]

    @property
    def mart_models(self) -> list[str]:
        """Every generator a ranker of :attr:`rankers` merges: the rows of ``candidate_features``
        (dbt var ``ranker_models``)."""
        return list(dict.fromkeys(m for r in self.rankers for m in r.merged_models))

    @property
    def two_stage_names(self) -> list[str]:
        """``recommendations`` model names of :attr:`rankers`."""
        return [r.two_stage_name for r in self.rankers]

    @property
    def extra_seeds(self) -> list[int]:
        """The seeds of ``evaluation.seed_runs`` besides ``seed`` (whose run is the model's row)."""
        return [s for s in self.evaluation.seed_runs.seeds if s != self.seed]

    def with_(self, overrides: Mapping[str, Any]) -> PipelineConfig:
        """A copy with dotted-key overrides (``{"candidates.top_n": 50}``), checked as a file's;
        the derived values it overrides are no longer reported as derived."""
        raw = _merge(self.raw, _nested(overrides), "")
        return replace(parse_config(raw), derived=_still_derived(self.derived, raw),
                       scale=self.scale)


def _nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dotted, value in overrides.items():
        node = out
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return out


# upper bounds of the sizes a run allocates by (rows = users x top_n per generator and fold;
# bootstrap: one resample matrix per metric): far above any useful value, far below a typo's
MAX_TOP_N = 10_000
MAX_BOOTSTRAP_SAMPLES = 100_000


def _bounded(key: str, value: Any, high: int) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value > high:
        raise ConfigError(f"Config key '{key}' = {value:,} is above its limit {high:,}; lower it "
                          "(it sets how many rows or resamples the run allocates).")


def parse_config(raw: Mapping[str, Any]) -> PipelineConfig:
    """Check every section of the merged config and return it typed; errors name the key."""
    raw = copy.deepcopy(dict(raw))
    seed = raw.get("seed", 42)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"Config key 'seed' must be an integer, got {seed!r}.")
    cand = raw["candidates"]
    _bounded("candidates.top_n", cand.get("top_n"), MAX_TOP_N)
    _bounded("evaluation.top_k", raw["evaluation"].get("top_k"), MAX_TOP_N)
    _bounded("evaluation.bootstrap_samples", raw["evaluation"].get("bootstrap_samples"),
             MAX_BOOTSTRAP_SAMPLES)
    tuning = tuning_settings(raw)
    models = tuple(cand["models"])
    check_params(cand.get("params") or {}, tuning["search_space"], list(models))
    candidates = CandidatesConfig(
        models=models, top_n=validate_n(cand["top_n"]), params=dict(cand.get("params") or {}),
        tune=bool(cand.get("tune", True)),
        tuning=TuningConfig(metric=tuning["metric"], trials=int(tuning["trials"]),
                            max_users=tuning["max_users"], model_trials=tuning["model_trials"],
                            search_space=dict(tuning["search_space"])))
    ev = evaluation_settings(raw)
    seed_models, seed_list = seed_run_settings(raw)
    evaluation = EvaluationConfig(
        ks=tuple(ev["ks"]), top_k=ev["top_k"], bootstrap_samples=int(ev["bootstrap_samples"]),
        confidence=float(ev["confidence"]), conventions=tuple(ev["conventions"]),
        diversity_ks=tuple(ev["diversity_ks"]),
        seed_runs=SeedRuns(tuple(seed_models), tuple(int(s) for s in seed_list)))
    return PipelineConfig(seed=int(seed), candidates=candidates, evaluation=evaluation,
                          ranker=ranker_config(raw), raw=raw, validation=validation_settings(raw))


def as_config(config: PipelineConfig | Mapping[str, Any]) -> PipelineConfig:
    """``config`` typed: a :class:`PipelineConfig` as it is, a mapping (e.g. ``load_config()``
    edited by a test or a notebook) parsed by :func:`parse_config`."""
    return config if isinstance(config, PipelineConfig) else parse_config(config)


def _lookup(raw: Mapping[str, Any], dotted: str) -> Any:
    node: Any = raw
    for key in dotted.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


_MISSING = object()


def _still_derived(derived: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``derived`` (dotted) that ``raw`` still holds (a file or option may have
    set another value)."""
    return {k: v for k, v in derived.items() if _lookup(raw, k) == v}


def pipeline_config(path: Path | str | None = None,
                    overrides: Mapping[str, Any] | None = None,
                    settings=None) -> PipelineConfig:
    """:func:`load_config` of ``path`` with dotted-key ``overrides`` (the CLI's options), typed.

    With ``settings`` (``recsys.config.Settings``: the data's folder and size), the settings
    that follow the data's size (``recsys/scaled.yml``) lie between the defaults and the file."""
    scale = measure(settings.data_dir, settings.size) if settings is not None else None
    derived = derived_settings(scale)
    raw = load_config(path, derived)
    if overrides:
        raw = _merge(raw, _nested({k: v for k, v in overrides.items() if v is not None}), "")
    on = bool(raw.get("derive_from_data"))
    return replace(parse_config(raw), derived=_still_derived(derived, raw) if on else {},
                   scale=scale.describe() if scale is not None and on else None)
