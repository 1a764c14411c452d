"""The headline of a run, re-read from its reports: the two-stage model against the best tuned
single model (``recsys headline``; the README's table is its output)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from recsys.columns import TARGETS
from recsys.errors import ConfigError
from recsys.evaluation.tables import headline_markdown, headline_table
from recsys.run_manifest import MANIFEST_NAME
from recsys.sections.ranker import DEFAULT_MODEL_NAME


def headline_from_reports(reports_dir: Path, *, two_stage: str | None = None) -> str:
    """The markdown headline of ``reports_dir/metrics.csv`` and ``paired_tests.csv``.

    The two-stage model of each target is ``two_stage``, else the one ``run_manifest.json``
    records as chosen on val (``two_stage.headline``), else ``two_stage``. Baselines are every
    other model of the CSV but the two-stage models.
    """
    return headline_markdown(headline_frame(reports_dir, two_stage=two_stage))


def _recorded_choice(reports_dir: Path) -> dict:
    """``two_stage`` of the run's manifest: the two-stage models and the headline per target."""
    try:
        manifest = json.loads((Path(reports_dir) / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return {}
    return manifest.get("two_stage") or {}


def headline_frame(reports_dir: Path, *, two_stage: str | None = None) -> pd.DataFrame:
    """:func:`headline_from_reports` as a frame (``recsys.evaluation.tables.headline_table``
    rows of every fold and target of the CSV)."""
    metrics_csv, tests_csv = Path(reports_dir) / "metrics.csv", Path(reports_dir) / "paired_tests.csv"
    if not metrics_csv.is_file():
        raise ConfigError(f"No {metrics_csv}: run `recsys evaluate` first (or pass --reports-dir).")
    metrics = pd.read_csv(metrics_csv)
    tests = pd.read_csv(tests_csv) if tests_csv.is_file() and tests_csv.stat().st_size else pd.DataFrame()
    if "convention" not in metrics.columns:
        raise ConfigError(f"{metrics_csv} has no convention column: it is from an older recsys; "
                          "rerun `recsys metrics`.")
    recorded = _recorded_choice(reports_dir)
    chosen = {} if two_stage else dict(recorded.get("headline") or {})
    names = {two_stage or DEFAULT_MODEL_NAME, *(recorded.get("models") or []), *chosen.values()}
    baselines = sorted(set(metrics["model"]) - names)
    frames = [headline_table(metrics, tests, fold=fold, target=target,
                             two_stage=chosen.get(target, two_stage or DEFAULT_MODEL_NAME),
                             baselines=baselines)
              for fold in sorted(set(metrics["fold"]))
              for target in sorted(set(metrics["target"]), key=lambda t: (TARGETS.index(t) if t in TARGETS else len(TARGETS), t))]
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
