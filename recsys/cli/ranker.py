"""``recsys train-ranker`` and ``recsys rank``: the two halves of the two-stage recommender.

``recsys evaluate`` runs both (through ``recsys.pipeline.run_two_stage``); these commands exist
for running the stages by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.columns import TARGETS
from recsys.pipeline_config import pipeline_config
from recsys.protocol import TEST_FOLD

_targets = click.option(
    "--target", "targets", multiple=True, type=click.Choice(TARGETS), default=TARGETS,
    show_default=True, help="Target(s) to train/rank for (repeat the option for several).",
)
_config = click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="YAML file merged over recsys/defaults.yml (the `ranker:` section).",
)
_quiet = click.option("--quiet", is_flag=True, help="No progress bars.")


def _echo_summary(summary: dict) -> None:
    for target, info in summary.items():
        importance = info.pop("feature_importance", None)
        click.echo(f"{target}: " + json.dumps(info, default=str))
        if importance:
            top = list(importance.items())[:10]
            click.echo("  top features (gain): " + ", ".join(f"{k}={v:.1f}" for k, v in top))


@click.command("train-ranker")
@settings_options
@_targets
@_config
@_quiet
def train_ranker(settings, targets, config_path, quiet):
    """Train the LambdaRank re-ranker on the folds of ranker.train_folds, one model per target.

    Fits the generators on those folds where their candidates are missing or stale (fitted from
    another build, other parameters, seed or list length) and rebuilds the `candidate_features`
    mart when it disagrees with `candidates`, then trains (early stopping on held-out users).
    Saves reports/ranker/two_stage/<target>.txt (+ .json with the feature list, parameters and the
    warehouse build it learned from) and writes the `ranker_feature_importance` table. This is
    the headline ranker (ranker.model_name); `recsys evaluate` also trains two_stage_untuned on
    the untuned generators' candidates and chooses between them on val (ranker.compare_untuned).

    \b
    Example:
      recsys train-ranker --target listen_plus --config my.yml
    """
    from recsys.pipeline import train_ranker_stage as train

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    _echo_summary(run_or_fail(train, settings, config, targets=targets, progress=not quiet))


@click.command("rank")
@settings_options
@_targets
@click.option("--fold", default=TEST_FOLD, show_default=True,
              help="Fold whose candidates are re-ranked (a fold of the `folds` table).")
@_config
@_quiet
def rank(settings, targets, fold, config_path, quiet):
    """Re-rank a fold's candidates with the saved rankers; write model two_stage.

    Writes the top-k per user to `recommendations` (model `two_stage`) and the candidate
    recall per generator to `candidate_recall`. Train first with `recsys train-ranker`.

    \b
    Example:
      recsys rank --fold test && recsys evaluate
    """
    from recsys.ranking import rank as run_rank

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    _echo_summary(run_or_fail(run_rank, settings, config, fold=fold, targets=targets, progress=not quiet))


COMMANDS = [train_ranker, rank]
