"""recsys: a leakage-safe benchmark and two-stage recommender for Yambda-style music logs."""

from __future__ import annotations

__version__ = "0.1.0"


def load(config=None, **settings):
    """``(settings, config)`` in one call, as the CLI resolves them: the ``RECSYS_*`` variables
    (with ``settings`` keyword overrides, e.g. ``size="tiny"``) and ``recsys/defaults.yml`` with
    the YAML file ``config`` merged over it, parsed and checked.

    >>> import recsys
    >>> settings, config = recsys.load(size="tiny")
    >>> settings.size, config.candidates.top_n > 0
    ('tiny', True)
    """
    from pathlib import Path

    from recsys.config import load_settings
    from recsys.pipeline_config import pipeline_config

    paths = {k: Path(v) for k, v in settings.items()
             if k in ("data_dir", "warehouse", "reports_dir", "temp_dir") and v is not None}
    resolved = load_settings().with_(**{**settings, **paths})
    return resolved, pipeline_config(config, settings=resolved)


__all__ = ["__version__", "load"]
