"""One output option for every read command: --format table|json|csv."""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import msgspec
from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "csv")


def output_options(*formats: str, default: str = "table") -> Callable[[F], F]:
    """Add --format (one of `formats`, or table/json/csv) to a command."""
    choices = formats or FORMATS

    def decorate(f: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help="Output format: " + ", ".join(choices) + ".",
        )(f)

    return decorate


def to_json(data: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(data), indent=2).decode()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def emit(rows: Sequence[dict[str, Any]], fmt: str, title: str | None = None) -> None:
    """Print rows (dicts with the same keys) in the chosen format."""
    if fmt == "json":
        click.echo(to_json(list(rows)))
    elif fmt == "csv":
        buffer = io.StringIO()
        if rows:
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: cell(v) for k, v in row.items()} for row in rows)
        click.echo(buffer.getvalue(), nl=False)
    else:
        table = Table(title=title, show_lines=False, expand=False, box=SIMPLE_HEAD)
        for key in rows[0] if rows else ():
            table.add_column(key, overflow="fold")
        for row in rows:
            table.add_row(*(cell(v) for v in row.values()))
        make_console().print(table)


def make_console() -> Console:
    """A console for click's stdout, 80 columns unless a terminal says more."""
    stream = sys.stdout
    is_tty = stream.isatty()
    return Console(
        file=stream,
        width=None if is_tty else 80,
        force_terminal=False,
        no_color=not is_tty,
        highlight=False,
        soft_wrap=False,
    )
