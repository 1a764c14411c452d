"""``recsys candidates``: fit candidate generators and write the ``candidates`` table."""

from __future__ import annotations

from pathlib import Path

import click

from recsys.cli.common import run_or_fail, settings_options
from recsys.columns import TARGETS
from recsys.pipeline_config import pipeline_config
from recsys.protocol import EVALUATION_FOLDS, VAL_FOLD


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("candidates")
@settings_options
@click.option("--fold", "folds", default=",".join(EVALUATION_FOLDS), show_default=True,
              help=f"Comma-separated folds of the warehouse's `folds` table: "
                   f"{', '.join(EVALUATION_FOLDS)}, or {VAL_FOLD}_<k> (k >= 2: the ranker's extra "
                   "training folds, built with dbt var n_folds > k).")
@click.option("--target", "targets", default=",".join(TARGETS), show_default=True,
              help=f"Comma-separated targets: {', '.join(TARGETS)}.")
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models of the config).")
@click.option("--tune/--no-tune", default=True, show_default=True,
              help="Tune on the val fold first every generator without values tuned on the same "
                   "inputs (reused otherwise); --no-tune fits code defaults and candidates.params.")
@click.option("--skip-existing", is_flag=True,
              help="Keep (fold, target, model) slices fitted from the same build, parameters, "
                   "seed, top-N and users (their recorded fingerprint), e.g. the val slices "
                   "`recsys tune` wrote from its chosen fit; fit only the others.")
@click.option("--top-n", type=click.IntRange(min=1), default=None,
              help="Candidates per user (default: candidates.top_n of the config, 200).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="YAML file merged over recsys/defaults.yml.")
@click.option("--seed", type=int, default=None, help="Random seed (default: seed of the config).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def candidates(settings, folds, targets, models, tune, skip_existing, top_n, config_path, seed,
               quiet) -> None:
    """Fit candidate generators per fold and target and write the `candidates` table.

    On test every user with target-type history is served (the paper's Coverage counts their
    lists); on the training folds the evaluated users of `eval_targets` (or a seeded sample of
    ranker.max_train_users of them). Each gets its top-N items (rank 1-based, ties by item_id). Hyperparameters are tuned on the val fold first (Optuna,
    `candidates.tuning` of the config: search spaces, trials, objective NDCG@100), saved in
    `candidate_params` with a fingerprint of their inputs, and reused while the inputs stay.

    \b
    Example:
      recsys candidates --fold test --target listen_plus --models mostpop,itemknn
      recsys candidates --no-tune --top-n 200 --seed 7
      recsys tune && recsys candidates --skip-existing   # val slices from the tuning's fits
    """
    from recsys.candidates import run_candidates
    from recsys.pipeline import ensure_candidates

    config = run_or_fail(pipeline_config, config_path,
                         {"candidates.top_n": top_n, "seed": seed, "candidates.tune": tune},
                         settings=settings)
    chosen = {"folds": _split(folds), "targets": _split(targets) or list(TARGETS),
              "models": _split(models) or list(config.candidates.models)}
    if skip_existing:
        if tune:
            from recsys.candidates.tuned import ensure_tuned

            run_or_fail(ensure_tuned, settings, config, targets=chosen["targets"],
                        models=chosen["models"], progress=not quiet)
        summary = run_or_fail(ensure_candidates, settings, config, **chosen, progress=not quiet)
    else:
        summary = run_or_fail(run_candidates, settings, config, **chosen, tune=tune,
                              progress=not quiet)
    for run in summary:
        click.echo(
            f"{run.fold:5} {run.target:12} {run.model:9} users={run.users:<7} rows={run.rows:<9} "
            f"{run.seconds:7.1f}s  {run.params}"
        )


@click.command("tune")
@settings_options
@click.option("--target", "targets", default=",".join(TARGETS), show_default=True,
              help=f"Comma-separated targets: {', '.join(TARGETS)}.")
@click.option("--models", default=None,
              help="Comma-separated generators (default: candidates.models; random and mostpop "
                   "have nothing to tune).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="YAML file merged over recsys/defaults.yml (candidates.tuning: search spaces, "
                   "trials, metric, max_users).")
@click.option("--seed", type=int, default=None, help="Seed of the sampler and the fits (default: seed of the config).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def tune(settings, targets, models, config_path, seed, quiet) -> None:
    """Tune the generators' hyperparameters on the val fold and save them in `candidate_params`.

    Each (target, model) is tuned with Optuna on the val fold's history against val's targets
    (objective candidates.tuning.metric, NDCG@100 by default; candidates.tuning.trials trials,
    the default fit's point first), unless values tuned on the same inputs (data files, val fold,
    search space, trials, metric, seed, candidates.params) are saved already: those are reused
    without a fit. The val candidates of the ranker's sources are written from the chosen fit
    (`recsys candidates --skip-existing` then keeps them). `recsys evaluate` runs this step itself.

    \b
    Example:
      recsys tune                                  # every generator, both targets
      recsys tune --models itemknn,ials --target like --seed 7
    """
    from recsys.candidates.tuned import ensure_tuned
    from recsys.ranking.ranker import val_candidate_sources

    config = run_or_fail(pipeline_config, config_path, {"seed": seed}, settings=settings)
    chosen = _split(models) or list(config.candidates.models)
    rows = run_or_fail(ensure_tuned, settings, config, targets=_split(targets) or TARGETS,
                       models=chosen, progress=not quiet,
                       val_candidates=run_or_fail(val_candidate_sources, config))
    for row in rows:
        state = "reused" if row.reused else f"tuned in {row.seconds:.1f}s"
        click.echo(f"{row.target:12} {row.model:9} {row.metric}={row.value:.4f} "
                   f"({row.trials} {row.sampler} trials, {state})  {row.params}")
    if not rows:
        click.echo("nothing to tune: no chosen generator has a search space (candidates.tuning.search_space)")


COMMANDS = [candidates, tune]
