"""Options shared by every command, defined once, with the environment as default."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import click

from recsys.config import load_settings
from recsys.errors import RecsysError


def settings_options(func: Callable) -> Callable:
    """Add --data-dir/--size/--warehouse and pass a resolved ``settings`` keyword."""

    @click.option(
        "--data-dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Dataset root holding flat/<size>/ [env RECSYS_DATA_DIR, default data/yambda].",
    )
    @click.option(
        "--size",
        default=None,
        help="Dataset size preset: tiny, small, 50m, 500m, 5b [env RECSYS_SIZE, default small].",
    )
    @click.option(
        "--warehouse",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="DuckDB warehouse file [env RECSYS_WAREHOUSE, default warehouse/recsys.duckdb].",
    )
    @functools.wraps(func)
    def wrapper(*args, data_dir=None, size=None, warehouse=None, **kwargs):
        try:
            settings = load_settings().with_(data_dir=data_dir, size=size, warehouse=warehouse)
        except RecsysError as exc:
            raise click.ClickException(str(exc)) from exc
        return func(*args, settings=settings, **kwargs)

    return wrapper


def run_or_fail(call: Callable, *args, **kwargs):
    """Call into the library; turn a ``RecsysError`` into a clean message and exit code 1."""
    try:
        return call(*args, **kwargs)
    except RecsysError as exc:
        raise click.ClickException(str(exc)) from exc


