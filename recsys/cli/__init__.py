"""The ``recsys`` command line: a thin shell over the library.

Each command module under ``recsys/cli/`` exposes ``COMMANDS`` (a list of click commands); the
group below registers them. Commands parse options, call one library function and turn
``RecsysError`` into a one-paragraph message and exit code 1.
"""

from __future__ import annotations

import click

from recsys import __version__
from recsys.cli import bench, candidates, data, dbt, evaluate, ranker, serve

# command modules, in the order their commands appear in --help
_COMMAND_MODULES = (data, dbt, candidates, evaluate, ranker, serve, bench)


class _OrderedGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(cls=_OrderedGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="recsys")
def main() -> None:
    """Leakage-safe benchmark and two-stage recommender for Yambda-style music logs.

    \b
    The usual day:
      recsys generate --size small      # or: recsys download --size 50m
      recsys validate                   # check files, columns and dtypes
      recsys build                      # dbt build: splits, targets, features
      recsys evaluate                   # fit models, score them in SQL, write reports/

    Paths come from RECSYS_DATA_DIR, RECSYS_SIZE and RECSYS_WAREHOUSE (see README.md);
    every command also takes them as options.

    \b
    Example:
      RECSYS_SIZE=tiny recsys generate && recsys validate --size tiny
    """
    from recsys.failures import install_signal_handlers

    install_signal_handlers()  # SIGTERM unwinds like Ctrl-C: staged files removed, lock released


for _module in _COMMAND_MODULES:
    for _command in _module.COMMANDS:
        main.add_command(_command)
