"""``recsys candidates``: fit candidate generators and write the ``candidates`` table."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.columns import FOLDS, TARGETS
from recsys.pipeline_config import load_config


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("candidates")
@settings_options
@click.option("--fold", "folds", default=",".join(FOLDS), show_default=True,
              help=f"Comma-separated folds: {', '.join(FOLDS)}.")
@click.option("--target", "targets", default=",".join(TARGETS), show_default=True,
              help=f"Comma-separated targets: {', '.join(TARGETS)}.")
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models of the config).")
@click.option("--tune/--no-tune", default=True, show_default=True,
              help="Tune on the val fold first every generator without values tuned on the same "
                   "inputs (reused otherwise); --no-tune fits code defaults and candidates.params.")
@click.option("--top-n", type=click.IntRange(min=1), default=None,
              help="Candidates per user (default: candidates.top_n of the config, 200).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="YAML file merged over recsys/defaults.yml.")
@click.option("--seed", type=int, default=None, help="Random seed (default: seed of the config).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def candidates(settings, folds, targets, models, tune, top_n, config_path, seed, quiet) -> None:
    """Fit candidate generators per fold and target and write the `candidates` table.

    Users served are those of `eval_targets` for the fold and target; each gets its top-N items
    (rank 1-based, ties by item_id). Hyperparameters are tuned on the val fold first (Optuna,
    `candidates.tuning` of the config: search spaces, trials, objective NDCG@100), saved in
    `candidate_params` with a fingerprint of their inputs, and reused while the inputs stay.

    \b
    Example:
      recsys candidates --fold test --target listen_plus --models mostpop,itemknn
      recsys candidates --no-tune --top-n 200 --seed 7
    """
    from recsys.candidates import run_candidates

    config = run_or_fail(load_config, config_path)
    if top_n is not None:
        config["candidates"]["top_n"] = top_n
    if seed is not None:
        config["seed"] = seed
    config["candidates"]["tune"] = tune
    summary = run_or_fail(
        run_candidates, settings, config, folds=_split(folds), targets=_split(targets),
        models=_split(models), tune=tune, progress=not quiet,
    )  # fmt: skip
    for run in summary:
        click.echo(
            f"{run.fold:5} {run.target:12} {run.model:9} users={run.users:<7} rows={run.rows:<9} "
            f"{run.seconds:7.1f}s  {run.params}"
        )


COMMANDS = [candidates]
