"""dbt commands: build the warehouse (splits, targets, aggregates, point-in-time features)."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.config import Settings


@click.command()
@settings_options
@click.option(
    "--select",
    "-s",
    "select",
    multiple=True,
    help="dbt node selection, repeatable (e.g. `-s eval_targets+`); default: the whole project.",
)
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="YAML file merged over recsys/defaults.yml; sets dbt var n_folds (ranker.train_folds).",
)
@click.option("--full", is_flag=True,
              help="Build every model even when nothing changed since the last build.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def build(settings: Settings, select: tuple[str, ...], config_path: Path | None, full: bool,
          quiet: bool) -> None:
    """Run `dbt build` on the parquet files: models and their tests, into the DuckDB warehouse.

    Reads RECSYS_DATA_DIR/flat/RECSYS_SIZE and writes RECSYS_WAREHOUSE (marts such as folds,
    eval_targets, train_interactions, *_features, candidate_features). The folds built
    (dbt var n_folds: test, val, val_2, ...) follow ranker.train_folds of the config, so build
    with the same --config as the later stages. dbt's log is in dbt_project/logs/dbt.log; a
    failing model or test is named in the error.

    A build is incremental: with the input files, dbt vars, validation bounds and dbt project
    of the last build it does nothing and says so; when only files under dbt_project/ changed it
    builds the models dbt finds modified since the last build, with what depends on them
    (dbt's state:modified+ against the manifest the warehouse recorded). --full builds all.

    \b
    Example:
      recsys build --size tiny --warehouse warehouse/tiny.duckdb
      recsys build --select candidate_features
      recsys build --config my.yml
    """
    from recsys.dbt_runner import build as dbt_build
    from recsys.pipeline_config import pipeline_config
    from recsys.ranking.settings import dbt_vars

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    dbt_vars_ = run_or_fail(dbt_vars, config)
    summary = run_or_fail(
        dbt_build, settings, select=list(select) or None, vars=dbt_vars_, progress=not quiet,
        limits=config.validation, full=full)
    if summary.reused:
        click.echo(f"dbt build: nothing to do, {settings.warehouse} is current ("
                   f"{summary.plan.reason}); `recsys build --full` rebuilds every model", err=True)
    elif summary.plan is not None and summary.plan.action == "modified" and not summary.statuses:
        click.echo(f"dbt build: {summary.plan.reason}, but no model or test differs from the "
                   "last build's: nothing rebuilt", err=True)
    else:
        built = sum(1 for s in summary.statuses.values() if s in ("success", "pass"))
        what = (f" ({summary.plan.reason}: dbt's state:modified+ of the last build)"
                if summary.plan is not None and summary.plan.action == "modified" else "")
        click.echo(f"dbt build: {built} nodes OK into {settings.warehouse}{what}", err=True)
    for name in summary.warned:
        click.echo(f"warning: {name}", err=True)
    for warning in summary.data_warnings:
        click.echo(f"warning: {warning}", err=True)
    if summary.dropped:
        click.echo("the input files or dbt vars changed since the last build: dropped "
                   f"{', '.join(summary.dropped)} (computed from the old inputs; the next "
                   "`recsys evaluate` recomputes them)", err=True)


COMMANDS = [build]
