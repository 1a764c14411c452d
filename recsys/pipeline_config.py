"""Pipeline settings (models, N, seeds, hyperparameters) from ``recsys/defaults.yml``.

A user file given with ``--config`` is deep-merged over the defaults; unknown keys are an error
so a typo never passes silently.
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from recsys.errors import ConfigError


def default_config() -> dict[str, Any]:
    text = resources.files("recsys").joinpath("defaults.yml").read_text()
    return yaml.safe_load(text)


# mappings whose entries a user file replaces whole instead of merging into: a model's search
# space (a parameter may change from a list of values to a range)
REPLACED_WHOLE = ("candidates.tuning.search_space",)


def _merge(base: dict, override: dict, where: str) -> dict:
    out = copy.deepcopy(base)
    if where in REPLACED_WHOLE:
        out.update(copy.deepcopy(override))
        return out
    for key, value in override.items():
        path = f"{where}.{key}" if where else key
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


def load_config(path: Path | str | None = None) -> dict[str, Any]:
    """The defaults, with the YAML file at ``path`` (if any) merged over them."""
    config = default_config()
    if path is None:
        return config
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist. Pass an existing YAML file to --config.")
    try:
        user = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(user, dict):
        raise ConfigError(f"Config file {path} must hold a mapping (key: value), not {type(user).__name__}.")
    return _merge(config, user, "")
