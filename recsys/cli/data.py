"""Data commands: generate, validate, profile, download."""

from __future__ import annotations

import json
from pathlib import Path

import click

from recsys.cli.common import run_or_fail
from recsys.config import GENERATED_SIZES, PUBLIC_SIZES, load_settings


def _settings():
    return run_or_fail(load_settings)


def _size_option(choices=None, help_extra=""):
    return click.option(
        "--size",
        type=click.Choice(choices) if choices else None,
        default=None,
        help=f"Size preset [env RECSYS_SIZE, default small].{help_extra}",
    )


_DIR_ARGUMENT = click.argument(
    "data_dir", required=False, type=click.Path(path_type=Path, file_okay=False)
)


@click.command()
@_size_option(list(GENERATED_SIZES), " tiny: 400 users, ~1M listens; small: 1,000 users, ~4.6M listens; 50m, 500m: the public counts.")
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed; same seed, same files.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Dataset root to write [env RECSYS_DATA_DIR, default data/yambda].",
)
@click.option("--force", is_flag=True, help="Replace root files that came from another seed or a download.")
def generate(size: str | None, seed: int, out: Path | None, force: bool) -> None:
    """Generate a Yambda-schema dataset (public layout and dtypes) from a seed.

    Writes OUT/flat/SIZE/{listens,likes,dislikes,unlikes,undislikes,multi_event}.parquet and the
    root files OUT/{embeddings,artist_item_mapping,album_item_mapping}.parquet, each into a temp
    folder first and then renamed into place.

    Several sizes can share one root: the item catalogue depends only on the seed, and a bigger
    size's catalogue is a superset of a smaller one's. Root files from the same seed are kept (or
    replaced by the bigger catalogue); root files from another seed or a download are never
    replaced unless --force is given (other sizes' event files in that root then become stale).

    \b
    Example:
      recsys generate --size tiny --seed 7 --out /tmp/yambda
      recsys validate /tmp/yambda --size tiny
    """
    settings = _settings().with_(size=size, data_dir=out)
    from recsys.data.generate import generate_dataset
    from recsys.data.validate import require_valid_dataset

    result = run_or_fail(
        generate_dataset, settings.data_dir, settings.size, seed, force=force, progress=True
    )
    run_or_fail(require_valid_dataset, settings.data_dir, settings.size)
    counts = ", ".join(f"{n:,} {name}" for name, n in result.counts.items())
    root_note = "written" if result.root_files_written else "kept (same seed, large enough)"
    click.echo(f"Wrote {settings.data_dir / 'flat' / settings.size}: {counts}.")
    click.echo(f"Root files {root_note}; {result.seconds:.1f} s.")


@click.command()
@_DIR_ARGUMENT
@_size_option()
@click.option("--no-values", is_flag=True,
              help="Skip the scan of the values (footers only: files, columns, dtypes).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              default=None, help="YAML file merged over recsys/defaults.yml (its `validation` "
              "bounds and ranker.train_folds, which set the folds checked).")
@click.option("--dedupe", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Write a copy of the dataset without exact duplicate events to this folder "
              "(then point RECSYS_DATA_DIR at it).")
def validate(data_dir: Path | None, size: str | None, no_values: bool, config_path: Path | None,
             dedupe: Path | None) -> None:
    """Check files, columns and dtypes of a dataset root against the Yambda schema.

    DATA_DIR defaults to RECSYS_DATA_DIR. Every problem is reported at once, naming the file and
    the column; the exit code is 1 if there is any. Then the values, as `recsys build` checks
    them before dbt runs: errors for event files with no rows, nulls in uid / item_id /
    timestamp, exact duplicate events above validation.max_duplicate_share of a file (1%),
    played_ratio_pct above validation.max_played_ratio_pct (1000), embeddings not
    128-dimensional, null, all-zero or holding NaN / inf, and a fold whose target window holds
    no Listen+ or like event (the fold and window named); warnings for any duplicate events, for
    timestamps off the 5-second grid or past the protocol's last timestamp and for event items
    missing from the artist or album mapping (above 1% of the items or of the events).

    \b
    Example:
      recsys validate data/yambda --size small
      recsys validate --dedupe data/yambda_dedup && RECSYS_DATA_DIR=data/yambda_dedup recsys validate
    """
    settings = _settings().with_(data_dir=data_dir, size=size)
    from recsys.data.validate import require_valid_dataset, require_valid_values, write_deduplicated
    from recsys.pipeline_config import pipeline_config
    from recsys.sections.ranker import required_n_folds

    config = run_or_fail(pipeline_config, config_path)
    run_or_fail(require_valid_dataset, settings.data_dir, settings.size)
    if dedupe is not None:
        removed = run_or_fail(write_deduplicated, settings.data_dir, settings.size, dedupe)
        click.echo(f"Wrote {dedupe} without exact duplicate events ("
                   + ", ".join(f"{name}: {n:,} removed" for name, n in removed.items()) + ").")
        return
    if not no_values:
        warnings = run_or_fail(require_valid_values, settings.data_dir, settings.size,
                               required_n_folds(config), config.validation)
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)
    click.echo(f"{settings.data_dir} ({settings.size}): all files, columns and dtypes match the schema.")


@click.command()
@_DIR_ARGUMENT
@_size_option()
@click.option("--json", "as_json", is_flag=True, help="Print the statistics as JSON.")
@click.option("--against-paper", is_flag=True,
              help="Compare with the paper instead: on the evaluated warehouse (RECSYS_WAREHOUSE) "
              "of a paper size, the five tuned baselines' paper-convention NDCG@10/100 and "
              "Recall@10/100 beside Tables 6 and 7 with the ratio, their order on both sides, "
              "and the data's shape beside the paper's statistics.")
def profile(data_dir: Path | None, size: str | None, as_json: bool, against_paper: bool) -> None:
    """Print the dataset statistics the Yambda paper publishes (DuckDB over the parquet files).

    Users, items, events per type with per-user history length median/p90/p95, organic shares,
    repeat-listen ratio, played_ratio_pct > 100 share, share of items with 1-2 events, embedding
    coverage, timestamp range, and per fold the users with Listen+ and like targets. Compare
    generated and real data side by side. The queries are in sql/analysis/profile_*.sql.

    \b
    Example:
      recsys profile data/yambda --size small
      recsys profile --size 50m --json > profile_50m.json
      RECSYS_SIZE=50m recsys profile --against-paper     # after make build evaluate at 50m
    """
    settings = _settings().with_(data_dir=data_dir, size=size)
    if against_paper:
        from recsys.evaluation.calibration import against_paper as compare
        from recsys.evaluation.calibration import format_against_paper

        result = run_or_fail(compare, settings)
        if as_json:
            click.echo(json.dumps({"size": result["size"], "order": result["order"],
                                   "cells": result["cells"].to_dict("records"),
                                   "shape": result["shape"].to_dict("records")},
                                  indent=2, default=str))
        else:
            click.echo(format_against_paper(result))
        return
    from recsys.data.profile import format_profile, profile_dataset

    result = run_or_fail(profile_dataset, settings.data_dir, settings.size)
    click.echo(json.dumps(result, indent=2) if as_json else format_profile(result))


@click.command()
@click.option("--size", type=click.Choice(list(PUBLIC_SIZES)), default="50m", show_default=True,
              help="Public size to fetch.")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Dataset root [env RECSYS_DATA_DIR, default data/yambda].")
@click.option("--files", "files", multiple=True, metavar="NAME",
              help="Fetch only these files (repeatable): listens, likes, dislikes, unlikes, "
                   "undislikes, multi_event, embeddings, artist_item_mapping, album_item_mapping.")
@click.option("--endpoint", default=None, help="Hub endpoint URL [env HF_ENDPOINT, default huggingface.co].")
@click.option("--mirror", type=click.Path(path_type=Path, file_okay=False, exists=True), default=None,
              help="Copy from a local folder laid out like the hub repository instead.")
def download(size: str, out: Path | None, files: tuple[str, ...], endpoint: str | None,
             mirror: Path | None) -> None:
    """Download the real Yambda files (Hugging Face dataset yandex/yambda) into the local layout.

    Writes OUT/flat/SIZE/*.parquet and the root files, resuming interrupted downloads and skipping
    complete files. Without network it fails with a message saying how to use local files: copy
    them into a folder with the same layout and set RECSYS_DATA_DIR to it.

    \b
    Example:
      recsys download --size 50m --out data/yambda
      recsys download --size 50m --files likes --files embeddings
      RECSYS_SIZE=50m recsys validate
    """
    settings = _settings().with_(data_dir=out)
    from recsys.data.download import download_dataset, hub_fetcher, mirror_fetcher
    from recsys.data.validate import require_valid_dataset

    fetch = mirror_fetcher(mirror) if mirror else hub_fetcher(endpoint=endpoint)
    paths = run_or_fail(
        download_dataset, settings.data_dir, size, files or None, fetch,
        lambda p: click.echo(f"fetching {p}", err=True),
    )
    click.echo(f"{len(paths)} file(s) in {settings.data_dir}.")
    if not files:
        run_or_fail(require_valid_dataset, settings.data_dir, size)
        click.echo("All files, columns and dtypes match the schema.")


COMMANDS = [generate, validate, profile, download]

