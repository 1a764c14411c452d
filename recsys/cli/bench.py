"""``recsys bench``: measure every stage of the pipeline at one or more data sizes."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

from recsys.cli.common import run_or_fail
from recsys.config import load_settings


@click.command("bench")
@click.option(
    "--sizes", "sizes", multiple=True,
    help="Sizes to run, comma separated or repeated (--sizes tiny,small or --sizes tiny --sizes small). "
         "Sizes from an earlier run stay in the report. [default: tiny,small]",
)
@click.argument("more_sizes", nargs=-1)
@click.option("--regenerate", is_flag=True, help="Generate the data again even if bench/<size>/data has it.")
@click.option("--repeats", type=click.IntRange(1, 20), default=None,
              help="Repeats of each baseline timing (median reported) [default: 3 up to 50m, 1 above].")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed of the generated data.")
@click.option("--nice", "niceness", type=click.IntRange(0, 19), default=10, show_default=True,
              help="Nice increment of every stage (the CPU may be shared).")
@click.option("--config", type=click.Path(path_type=Path, dir_okay=False, exists=True), default=None,
              help="Pipeline config YAML passed to every stage (models, N, seeds).")
@click.option("--until", default=None, metavar="STAGE",
              help="Stop after this stage, e.g. `--until generate` to prepare a big size's data ahead "
                   "(a later run reuses the data and keeps the measured generation numbers).")
@click.option("--skip", default="", metavar="STAGE[,STAGE]",
              help="Leave out stages after the pipeline, e.g. the pandas baselines of a big size: "
                   "baseline-evaluation,baseline-dbt-listens,baseline-listen-plus (or serve).")
@click.option("--resume", is_flag=True,
              help="Continue each size's last run (reports/bench.json) from its first stage that "
                   "did not finish: the finished stages keep their numbers and warehouse.")
@click.option("--report-only", is_flag=True,
              help="Run nothing: recompute totals from reports/bench.json and rewrite bench.md.")
def bench(sizes, more_sizes, regenerate, repeats, seed, niceness, config, until, skip, resume,
          report_only):
    """Run every pipeline stage on generated data and measure each one.

    For each size: generate (reused if bench/<size>/data exists), dbt build into a fresh
    bench/<size>/bench-<size>.duckdb, tune every generator on val, fit + recommend them all (one
    process, both folds), train the ranker and rank, score in SQL; then the pandas baselines. Wall
    time, CPU time and peak memory per stage go to reports/bench.json and reports/bench.md
    (RECSYS_REPORTS_DIR), merged with the other sizes of earlier runs. Stage logs are in
    reports/bench-logs/<size>/. Sizes may also follow as arguments: `recsys bench --sizes tiny small`.

    \b
    Example:
      recsys bench --sizes tiny,small
      recsys bench --sizes 50m --until generate        # data only, measured
      nohup recsys bench --sizes 50m > bench-50m.log 2>&1 &
    """
    from recsys.bench import run_bench
    from recsys.bench.report import acceptance_checks

    # `kill` (SIGTERM) unwinds like Ctrl-C, so the stage running now is stopped with us
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    settings = run_or_fail(load_settings)
    if report_only:
        from recsys.bench.runner import rerender

        run_or_fail(rerender, settings)
        click.echo((settings.reports_dir / "bench.md").read_text())
        return
    all_sizes = list(sizes) + list(more_sizes) or ["tiny", "small"]
    results = run_or_fail(
        run_bench, settings, all_sizes, regenerate=regenerate, repeats=repeats, seed=seed,
        niceness=niceness, config=config, until=until,
        skip=[name.strip() for name in skip.split(",") if name.strip()], resume=resume,
    )
    md = settings.reports_dir / "bench.md"
    failures = [f"{size}: {f}" for size, e in results["sizes"].items() for f in e.get("failures", [])]
    click.echo(md.read_text())
    click.echo(f"Wrote {settings.reports_dir / 'bench.json'} and {md}.", err=True)
    if failures:
        raise click.ClickException(f"{len(failures)} stage(s) failed or were skipped:\n  " + "\n  ".join(failures))
    measured = [s.strip() for part in all_sizes for s in part.split(",") if s.strip()]
    failed = [line for line, ok in acceptance_checks(results, measured) if ok is False]
    if failed:
        raise click.ClickException(f"{len(failed)} acceptance check(s) failed (see {md}):\n"
                                   + "\n".join(failed))


COMMANDS = [bench]
