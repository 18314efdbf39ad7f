"""Every command teaches: help text with an example, and a place in the README."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from khronika.cli.main import cli

README = (Path(__file__).parents[2] / "README.md").read_text("utf-8")


def commands(
    group: click.Group, prefix: str = "khronika"
) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = dict(commands(cli))


@pytest.mark.parametrize("path", sorted(ALL))
def test_command_has_help_and_is_in_the_readme(path: str) -> None:
    command = ALL[path]
    assert command.help and command.get_short_help_str(), path
    assert f"`{path}" in README, f"{path} is missing from the README"


@pytest.mark.parametrize(
    "path", sorted(p for p, c in ALL.items() if not isinstance(c, click.Group))
)
def test_command_help_shows_an_example(path: str) -> None:
    assert "khronika " in (ALL[path].help or ""), f"{path} --help has no example"


def test_shell_completion_is_documented_and_works() -> None:
    assert "_KHRONIKA_COMPLETE=bash_source khronika" in README
    result = CliRunner().invoke(
        cli, [], prog_name="khronika", env={"_KHRONIKA_COMPLETE": "bash_source"}
    )
    assert result.exit_code == 0 and "_khronika_completion()" in result.output
    words = {"_KHRONIKA_COMPLETE": "bash_complete", "COMP_WORDS": "khronika tim",
             "COMP_CWORD": "1"}  # fmt: skip
    result = CliRunner().invoke(cli, [], prog_name="khronika", env=words)
    assert result.output.split() == ["plain,timeline"]
