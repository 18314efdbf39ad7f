"""One output option for every read command: --format table|json|csv."""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
import msgspec
from rich.box import SIMPLE_HEAD
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

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


# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings,
# overrides and isolates: stored text must not steer the terminal.
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
WIDTH = 80


def safe(text: str) -> str:
    """Text with every control and bidi character written as `\\uXXXX`.

    The escape is also a JSON escape, so JSON output stays valid JSON.
    """
    return UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def no_color() -> bool:
    """Whether NO_COLOR is set (and not empty), as https://no-color.org asks:
    then nothing khronika prints is coloured, on a terminal or not."""
    return bool(os.environ.get("NO_COLOR"))


def echo(
    message: str = "", nl: bool = True, err: bool = False, fg: str | None = None
) -> None:
    """click.echo (or secho, given a colour and no NO_COLOR) for anything
    that may hold stored text or user input."""
    if fg is None or no_color():
        click.echo(safe(message), nl=nl, err=err)
    else:
        click.secho(safe(message), nl=nl, err=err, fg=fg)


def indented(text: str, first: str) -> str:
    """Wrapped to 80 columns, continuation lines under the first's text."""
    return textwrap.fill(text, 80, initial_indent=first, break_on_hyphens=False,
                         break_long_words=False,
                         subsequent_indent=" " * len(first))  # fmt: skip


def to_json(data: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(data), indent=2).decode()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}={cell(v)}" for k, v in value.items())
    return str(value)


def citation_text(citation: dict[str, Any]) -> str:
    """SOURCE@LOCATOR, and the quote in double quotes if there is one."""
    quote = f' "{citation["quote"]}"' if citation.get("quote") else ""
    return f"{citation['source']}@{citation['locator']}{quote}"


def sections(**parts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of several kinds as one flat list: a `section` column, then the
    union of the parts' columns in order; a column a row lacks is empty."""
    columns: dict[str, None] = {"section": None}
    for rows in parts.values():
        for row in rows:
            columns.update(dict.fromkeys(row))
    return [
        {key: ({"section": name} | row).get(key) for key in columns}
        for name, rows in parts.items()
        for row in rows
    ]


# What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection")
FORMULA = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def neutral(text: str) -> str:
    """A spreadsheet cell that cannot be read as a formula: text that begins
    with `=`, `+`, `-`, `@`, tab or carriage return gets a leading single
    quote, as OWASP advises; a plain number (-5, +1.5e3) stays as it is.

    Every CSV khronika writes passes each cell through here: `--format csv`
    and a release's tables."""
    if text.startswith(FORMULA) and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] = ()) -> str:
    """A header line (the first row's keys, else `columns`), then the rows."""
    buffer = io.StringIO()
    header = list(rows[0]) if rows else list(columns)
    if header:
        writer = csv.writer(buffer)
        writer.writerow(safe(neutral(key)) for key in header)
        writer.writerows([safe(neutral(cell(v))) for v in row.values()] for row in rows)
    return buffer.getvalue()


def emit(
    rows: Sequence[dict[str, Any]],
    fmt: str,
    title: str | None = None,
    columns: Sequence[str] = (),
) -> None:
    """Print rows (dicts with the same keys) in the chosen format; `columns`
    names them when there may be no row, so that CSV keeps its header."""
    if fmt == "json":
        echo(to_json(list(rows)))
    elif fmt == "csv":
        click.echo(to_csv(rows, columns), nl=False)  # to_csv escapes each cell
    else:
        print_table(rows, title)


def print_table(rows: Sequence[dict[str, Any]], title: str | None = None) -> None:
    """A table of plain text, never markup, that wraps only between words:
    if the longest words do not fit the console, the table grows wider
    rather than break them."""
    header = [safe(key) for key in (rows[0] if rows else ())]
    body = [[safe(cell(v)) for v in row.values()] for row in rows]
    table = Table(
        title=Text(safe(title)) if title else None,
        show_lines=False,
        expand=False,
        box=SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
    )
    console = make_console()
    # a space after each cell, one between columns and one at either edge:
    # columns two apart, so that a table of eight fits 80 columns
    frame = 2 * len(header) + 1
    widths = _widths([header, *body], console.width - frame)
    for name, width in zip(header, widths, strict=True):
        table.add_column(Text(name), width=width, overflow="fold")
    for values in body:
        table.add_row(*(Text(v) for v in values))
    console.width = max(console.width, sum(widths) + frame)
    console.print(table)


def _widths(lines: list[list[str]], room: int) -> list[int]:
    """Column widths that fit in `room` if they can: the widest column
    gives way first, and none gets narrower than its longest word."""
    columns = list(zip(*lines, strict=True))
    widths = [max(1, *(cell_len(part) for v in c for part in v.splitlines()))
              for c in columns]  # fmt: skip
    words = [max(1, *(cell_len(w) for v in c for w in v.split())) for c in columns]
    while sum(widths) > room:
        give = [i for i, w in enumerate(widths) if w > words[i]]
        if not give:
            break
        widths[max(give, key=lambda i: widths[i])] -= 1
    return widths


def make_console() -> Console:
    """A console for click's stdout, 80 columns unless a terminal says more."""
    stream = sys.stdout
    is_tty = stream.isatty()
    return Console(
        file=stream,
        width=None if is_tty else WIDTH,
        force_terminal=False,
        no_color=not is_tty or no_color(),
        highlight=False,
        soft_wrap=False,
    )
