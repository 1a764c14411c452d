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
    """Call into the library; turn a ``RecsysError`` into a clean message and exit code 1, a
    resource failure (full disk, damaged warehouse, out of memory: ``recsys.failures``) into
    its sentence and exit 1, and Ctrl-C / SIGTERM into a message and exit 130 / 143."""
    from recsys.failures import Interrupted, explain

    try:
        return call(*args, **kwargs)
    except RecsysError as exc:
        raise click.ClickException(str(exc)) from exc
    except KeyboardInterrupt as exc:
        signal_name = "SIGTERM" if isinstance(exc, Interrupted) else "SIGINT (Ctrl-C)"
        click.echo(f"Error: interrupted by {signal_name}: what the run was building was removed "
                   "and the lock released; the previous warehouse and reports stay.", err=True)
        raise SystemExit(143 if isinstance(exc, Interrupted) else 130) from None
    except Exception as exc:
        settings = next((a for a in args if hasattr(a, "warehouse")), None)
        sentence = explain(exc, str(settings.warehouse) if settings is not None else None)
        if sentence is None:
            raise
        raise click.ClickException(str(sentence)) from exc


