"""Every ``recsys`` command teaches: ``--help`` exits 0, names its options and shows an example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from recsys.cli import main


@pytest.mark.parametrize("name", list(main.commands))
def test_every_command_has_help_with_an_example(name):
    command = main.commands[name]
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output
    assert f"recsys {name}" in result.output.split("Example:", 1)[1]  # the example runs it
    for param in command.params:
        for flag in getattr(param, "opts", []):
            if flag.startswith("--"):
                assert flag in result.output, f"{flag} missing from `recsys {name} --help`"


def test_the_group_registers_every_command_module_and_lists_them():
    import pkgutil

    import recsys.cli as cli

    modules = [m.name for m in pkgutil.iter_modules(cli.__path__) if m.name != "common"]
    commands = [c.name for m in modules for c in __import__(f"recsys.cli.{m}", fromlist=["COMMANDS"]).COMMANDS]
    assert sorted(commands) == sorted(main.commands)  # no module left out, none optional
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.output
    assert all(name in result.output for name in main.commands)
