"""``recsys evaluate`` (fit, recommend, score, report) and ``recsys metrics`` (score only)."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.columns import FOLDS
from recsys.pipeline_config import load_config


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] or None


def _evaluation_options(func):
    options = [
        click.option("--fold", type=click.Choice(FOLDS), default="test", show_default=True,
                     help="Fold to evaluate."),
        click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="YAML file merged over recsys/defaults.yml."),
        click.option("--ks", default=None,
                     help="Comma-separated cut-offs (default: evaluation.ks of the config, 10,100)."),
        click.option("--yambda-official/--no-yambda-official", default=None,
                     help="Official Yambda code conventions: targets with repeats, Recall over "
                          "min(|T|, k) (default: evaluation.yambda_official, off)."),
        click.option("--bootstrap-samples", type=click.IntRange(min=1), default=None,
                     help="Bootstrap resamples over users (default: evaluation.bootstrap_samples)."),
        click.option("--seed", type=int, default=None, help="Seed (default: seed of the config)."),
        click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                     help="Where metrics.csv and report.html go [env RECSYS_REPORTS_DIR, default reports]."),
        click.option("--quiet", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _config(config_path, ks, yambda_official, bootstrap_samples, seed) -> dict:
    config = run_or_fail(load_config, config_path)
    ev = config["evaluation"]
    if ks is not None:
        try:
            ev["ks"] = [int(k) for k in _split(ks) or []]
        except ValueError as exc:
            raise click.BadParameter(f"--ks must be integers separated by commas, got {ks!r}") from exc
    if yambda_official is not None:
        ev["yambda_official"] = yambda_official
    if bootstrap_samples is not None:
        ev["bootstrap_samples"] = bootstrap_samples
    if seed is not None:
        config["seed"] = seed
    return config


def _echo(result) -> None:
    click.echo(result.table)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"\nwrote {result.metrics_csv}, {result.tests_csv}, {result.report_html}")


@click.command("evaluate")
@settings_options
@_evaluation_options
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models); add two_stage to "
                   "include the ranker when listing models.")
@click.option("--two-stage/--no-two-stage", default=True, show_default=True,
              help="Train the LightGBM re-ranker on val and add its recommendations.")
def evaluate(settings, fold, config_path, ks, yambda_official, bootstrap_samples, seed,
             reports_dir, quiet, models, two_stage) -> None:
    """Fit the models, write recommendations, score them in SQL and write the reports.

    Runs the candidate generators on the fold's history, keeps each model's top-k
    (evaluation.top_k, 100) per evaluated user in `recommendations`, adds the two-stage ranker,
    runs sql/metrics/*.sql into `metrics_per_user` and `metrics`, prints the paper-style table
    and writes reports/metrics.csv, reports/paired_tests.csv and reports/report.html
    (bootstrap intervals over users, paired tests against the best model, organic breakdown).

    \b
    Example:
      recsys evaluate                                  # test fold, every model
      recsys evaluate --fold val --models mostpop,itemknn --no-two-stage
      recsys evaluate --yambda-official --ks 10,100   # the official code's conventions
    """
    from recsys.evaluation.pipeline import run_evaluate

    config = _config(config_path, ks, yambda_official, bootstrap_samples, seed)
    settings = settings.with_(reports_dir=reports_dir)
    result = run_or_fail(run_evaluate, settings, config, fold=fold, models=_split(models),
                         two_stage=two_stage, progress=not quiet)
    _echo(result)


@click.command("metrics")
@settings_options
@_evaluation_options
@click.option("--models", default=None,
              help="Comma-separated models to report (default: every model with recommendations).")
def metrics(settings, fold, config_path, ks, yambda_official, bootstrap_samples, seed,
            reports_dir, quiet, models) -> None:
    """Score the `recommendations` already in the warehouse and write the reports.

    The same scoring and reports as `recsys evaluate`, without fitting anything: use it after
    writing recommendations yourself (any stage that fills the table contract).

    \b
    Example:
      recsys metrics --fold test
      recsys metrics --models two_stage,itemknn --bootstrap-samples 200
    """
    from recsys.evaluation.pipeline import score_and_report

    config = _config(config_path, ks, yambda_official, bootstrap_samples, seed)
    settings = settings.with_(reports_dir=reports_dir)
    result = run_or_fail(score_and_report, settings, config, fold=fold, models=_split(models),
                         progress=not quiet)
    _echo(result)


COMMANDS = [evaluate, metrics]
