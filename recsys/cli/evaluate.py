"""``recsys evaluate`` (fit, recommend, score, report), ``recsys recommend`` (generators' top-k) and
``recsys metrics`` (score only)."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.evaluation.tables import headline_markdown
from recsys.pipeline_config import PipelineConfig, pipeline_config
from recsys.protocol import EVALUATION_FOLDS, TEST_FOLD


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()] or None


def _evaluation_options(func):
    options = [
        click.option("--fold", default=TEST_FOLD, show_default=True,
                     help=f"Fold to evaluate: {' or '.join(EVALUATION_FOLDS)} (a fold of the "
                          "warehouse's `folds` table)."),
        click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                     default=None, help="YAML file merged over recsys/defaults.yml."),
        click.option("--ks", default=None,
                     help="Comma-separated cut-offs (default: evaluation.ks of the config, 10,100)."),
        click.option("--convention", "conventions", default=None, metavar="NAME[,NAME...]",
                     help="Metric conventions: standard (distinct target items, trec_eval-equal), "
                          "paper (the Yambda paper's code: target events, ratio-of-sums NDCG), "
                          "official (its code now: Recall over min(n, k), NDCG = HitRate) "
                          "(default: evaluation.conventions, all three)."),
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


def _config(settings, config_path, ks, conventions, bootstrap_samples, seed,
            **more) -> PipelineConfig:
    """The typed config of ``--config`` with the command's options over it."""
    overrides = {"seed": seed, "evaluation.bootstrap_samples": bootstrap_samples, **more}
    if ks is not None:
        try:
            overrides["evaluation.ks"] = [int(k) for k in _split(ks) or []]
        except ValueError as exc:
            raise click.BadParameter(f"--ks must be integers separated by commas, got {ks!r}") from exc
    if conventions is not None:
        from recsys.sections.evaluation import check_conventions

        overrides["evaluation.conventions"] = run_or_fail(check_conventions, _split(conventions) or [])
    return run_or_fail(pipeline_config, config_path, overrides, settings=settings)


def _echo(result) -> None:
    click.echo(result.table)
    if result.parameters is not None and len(result.parameters):
        click.echo("\nparameters of every row (tuned on val: objective value and trials)")
        for row in result.parameters.sort_values(["target", "model"]).itertuples():
            tuned = (f"  [{row.metric} {row.value:.4f} on val, {int(row.trials)} trials]"
                     if isinstance(row.metric, str) else "")
            click.echo(f"  {row.target:12} {row.model:10} {row.params}{tuned}")
    if result.headline is not None and len(result.headline):
        click.echo("\n" + headline_markdown(result.headline))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    if result.reused:
        click.echo(f"\nunchanged: {result.metrics_csv}, {result.tests_csv}, {result.report_html}")
    else:
        click.echo(f"\nwrote {result.metrics_csv}, {result.tests_csv}, {result.report_html}")


@click.command("evaluate")
@settings_options
@_evaluation_options
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models); add two_stage to "
                   "include the ranker when listing models.")
@click.option("--two-stage/--no-two-stage", default=True, show_default=True,
              help="Train the LightGBM re-ranker on ranker.train_folds (val, val_2, ...) and add "
                   "its recommendations.")
@click.option("--tune/--no-tune", default=None,
              help="Tune every generator on the val fold first, reusing values tuned on the same "
                   "inputs (default: candidates.tune, on); --no-tune fits code defaults and the "
                   "report says untuned.")
def evaluate(settings, fold, config_path, ks, conventions, bootstrap_samples, seed,
             reports_dir, quiet, models, two_stage, tune) -> None:
    """Fit the models, write recommendations, score them in SQL and write the reports.

    Tunes every generator but random on the val fold (Optuna, objective NDCG@100, as the Yambda
    paper did; values tuned on the same inputs are reused), runs the candidate generators on the
    fold's history, keeps each model's top-k (evaluation.top_k, 100) per user with target-type
    history in `recommendations`, adds the two-stage ranker, runs sql/metrics/*.sql in every
    convention into `metrics_per_user` and `metrics`, prints the paper-style tables and writes
    reports/metrics.csv, reports/paired_tests.csv, reports/report.html (bootstrap intervals,
    paired tests, organic and repeat/discovery breakdowns) and reports/run_manifest.json.

    \b
    Example:
      recsys evaluate                                  # test fold, every model
      recsys evaluate --fold val --models mostpop,itemknn --no-two-stage
      recsys evaluate --convention paper --ks 10,100  # the paper's conventions only
      recsys evaluate --no-tune                        # code defaults (reported as untuned)
    """
    from recsys.pipeline import run_evaluate

    config = _config(settings, config_path, ks, conventions, bootstrap_samples, seed,
                     **{"candidates.tune": tune})
    settings = settings.with_(reports_dir=reports_dir)
    result = run_or_fail(run_evaluate, settings, config, fold=fold, models=_split(models),
                         two_stage=two_stage, progress=not quiet)
    _echo(result)


@click.command("metrics")
@settings_options
@_evaluation_options
@click.option("--models", default=None,
              help="Comma-separated models to report (default: every model with recommendations).")
def metrics(settings, fold, config_path, ks, conventions, bootstrap_samples, seed,
            reports_dir, quiet, models) -> None:
    """Score the `recommendations` already in the warehouse and write the reports.

    The same scoring and reports as `recsys evaluate`, without fitting anything: use it after
    writing recommendations yourself (any stage that fills the table contract).

    \b
    Example:
      recsys metrics --fold test
      recsys metrics --models two_stage,itemknn --bootstrap-samples 200
      recsys metrics --convention standard,official
    """
    from recsys.evaluation.scoring import score_and_report

    config = _config(settings, config_path, ks, conventions, bootstrap_samples, seed)
    settings = settings.with_(reports_dir=reports_dir)
    result = run_or_fail(score_and_report, settings, config, fold=fold, models=_split(models),
                         progress=not quiet)
    _echo(result)


@click.command("recommend")
@settings_options
@click.option("--fold", default=TEST_FOLD, show_default=True,
              help="Fold whose candidates become recommendations (a fold of the `folds` table).")
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models of the config).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="YAML file merged over recsys/defaults.yml (evaluation.top_k).")
def recommend(settings, fold, models, config_path) -> None:
    """Write each generator's top-k candidates of a fold to `recommendations`.

    The pipeline stage between `recsys candidates` and `recsys metrics`: for every user with
    target-type history on the fold (the paper's Coverage counts them all), the generator's
    candidates ranked 1..evaluation.top_k become its recommendation list, one transaction per
    (target, model). `recsys evaluate` does the same after fitting.

    \b
    Example:
      recsys candidates --fold test --models mostpop && recsys recommend --models mostpop
      recsys recommend && recsys metrics
    """
    from recsys.pipeline import write_generator_recommendations

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    chosen = _split(models) or list(config.candidates.models)
    rows = run_or_fail(write_generator_recommendations, settings, config, fold=fold, models=chosen)
    for key, n in rows.items():
        click.echo(f"{fold} {key}: {n:,} rows")


@click.command("headline")
@click.option("--reports-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where metrics.csv and paired_tests.csv are [env RECSYS_REPORTS_DIR, default reports].")
@click.option("--two-stage-model", default=None,
              help="Name of the two-stage model's rows [default: per target, the one the run "
                   "chose on val (run_manifest.json), else two_stage].")
def headline(reports_dir, two_stage_model) -> None:
    """Print the two-stage model against the best tuned single model, as a markdown table.

    Reads reports/metrics.csv and reports/paired_tests.csv of the last `recsys evaluate`: per
    target, NDCG@10 and Recall@100 of the two-stage model (two_stage or two_stage_untuned,
    whichever scored higher on the held-out val users) and of the single generator with the
    highest standard NDCG@10, with bootstrap intervals, the difference and the paired tests.
    The README's headline table is this command's output.

    \b
    Example:
      make run && .venv/bin/recsys headline
    """
    from recsys.config import load_settings
    from recsys.evaluation.headline import headline_from_reports

    folder = reports_dir or load_settings().reports_dir
    click.echo(run_or_fail(headline_from_reports, Path(folder), two_stage=two_stage_model))


@click.command("next-song")
@settings_options
@click.option("--fold", default=TEST_FOLD, show_default=True,
              help="Fold whose target-window sessions are the queries (test or val).")
@click.option("--ks", default="10", show_default=True, help="Comma-separated cut-offs.")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="The YAML file `recsys evaluate` ran with (ItemKNN's parameters, "
              "seed, bootstrap samples).")
def next_song(settings, fold, ks, config_path) -> None:
    """Score the next-song task: each session's last listen, predicted from the ones before it.

    For every listening session of the fold's target window (dbt mart next_song_queries) writes
    the top-k of next_song (the transitions model `recsys serve` answers POST /next with),
    popularity, itemknn_session (ItemKNN similarity summed over the session) and most_played
    (the user's most played items) to `next_song_recommendations`, scores them with
    sql/metrics/next_song.sql (HitRate, MRR, NDCG) and prints them with bootstrap intervals over
    sessions; writes reports/next_song.csv.

    
    Example:
      recsys next-song --ks 10,100
    """
    from recsys.atomic import write_text_atomic
    from recsys.evaluation.next_song import next_song_markdown, run_next_song

    config = run_or_fail(pipeline_config, config_path, settings=settings)
    cut_offs = [int(k) for k in _split(ks) or ["10"]]
    table = run_or_fail(run_next_song, settings, config, fold, cut_offs)
    run_or_fail(write_text_atomic, settings.reports_dir / "next_song.csv",
                table.to_csv(index=False))
    click.echo(next_song_markdown(table))


COMMANDS = [evaluate, recommend, metrics, headline, next_song]
