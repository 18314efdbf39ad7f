"""Spreadsheets in: a CSV file read through a mapping, as import lines.

`khronika import FILE.csv --mapping MAPPING.toml` turns each row into a fact
(khronika.domain.mapping) and hands it to the same Importer as JSON Lines, so
the checks, batches and idempotency are the same. Every error names the row
and the column, the Importer's included.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import click
import msgspec

from khronika.cli.files import read_limited
from khronika.domain import mapping as mapping_
from khronika.domain.documents import FactDoc
from khronika.domain.errors import ValidationError
from khronika.domain.names import Names
from khronika.domain.parse import MAX_DOCUMENT_BYTES
from khronika.store.importer import Importer, ImportError_, ImportReport, Line

PREVIEW = 3  # facts a dry run shows


def sheet(path: str, mapping: str | None) -> Sheet | None:
    """The Sheet for a CSV and its mapping; None for JSON Lines."""
    is_csv = path.lower().endswith(".csv")
    if mapping is None:
        if is_csv:
            raise click.UsageError(
                f"{path} is a CSV file: pass --mapping MAPPING.toml to say which "
                "column holds which field (examples/verdicts.toml is one)"
            )
        return None
    if not (is_csv or path == "-"):
        raise click.BadParameter(
            f"reads a CSV file (FILE.csv, or - for stdin), not {path}; JSON Lines "
            "and bundles import without a mapping",
            param_hint="--mapping",
        )
    return Sheet(mapping_.load(_read_text(mapping), Path(mapping).name))


def show(sheet: Sheet) -> None:
    """The first facts a dry run parsed, as JSON without the empty fields."""
    for doc in sheet.preview:
        data = msgspec.json.encode(_filled(msgspec.to_builtins(doc)))
        click.echo(msgspec.json.format(data, indent=2).decode())


def _filled(value: object) -> object:
    """`value` without null fields and empty lists, at any depth."""
    if isinstance(value, dict):
        return {k: _filled(v) for k, v in value.items() if v not in (None, [])}
    if isinstance(value, list):
        return [_filled(v) for v in value]
    return value


class Sheet:
    """A mapping, and what reading rows through it found out."""

    def __init__(self, mapping: mapping_.Mapping) -> None:
        self.mapping = mapping
        self.preview: list[FactDoc] = []
        self.columns: dict[str, dict[str, str]] = {}  # where -> field -> column

    def run(
        self, importer: Importer, streams: Iterable[tuple[str, BinaryIO]]
    ) -> ImportReport:
        """Import the rows; any error names the row and the column."""
        names = importer.catalogue.names()
        lines = (
            line for name, stream in streams for line in self.lines(name, stream, names)
        )
        try:
            return importer.run(lines)
        except ValidationError as e:  # a cell, or the file itself
            problem = ValidationError("", e.problem)
            raise ImportError_(e.field, problem, importer.report) from None
        except ImportError_ as e:  # a check of the Importer's, on a field
            cell = mapping_.locate(e.error, e.where, self.columns.get(e.where, {}))
            if cell is None:
                raise
            problem = ValidationError("", cell.problem)
            raise ImportError_(cell.field, problem, e.report) from None

    def lines(self, name: str, stream: BinaryIO, names: Names) -> Iterator[Line]:
        """Each row's fact as an import line; rows are numbered as a
        spreadsheet shows them, the header being row 1."""
        text = _Text(name, stream)
        rows = _rows(text, self.mapping.options.delimiter)
        header = [column.strip() for column in next(rows, [])]
        if not header:
            raise ValidationError(name, "is empty: row 1 must name the columns")
        mapping_.check_header(self.mapping, header, f"{name} row 1")
        for cells in rows:
            where = f"{name} row {text.row}"
            if not any(cell.strip() for cell in cells):
                yield Line("", b"", text.taken())  # a blank row, for progress
                continue
            if len(cells) > len(header):
                raise ValidationError(
                    where,
                    f"has {len(cells)} cells, but the header names only "
                    f"{len(header)} columns",
                )
            row = dict(zip(header, cells, strict=False))
            mapped = mapping_.fact(self.mapping, where, row, names)
            self.columns[where] = mapped.columns
            if len(self.preview) < PREVIEW:
                self.preview.append(mapped.doc)
            yield Line(where, msgspec.json.encode(mapped.doc), text.taken())


class _Text:
    """A binary stream's lines as text for the csv module: UTF-8 (a leading
    byte-order mark is dropped), each line at most MAX_DOCUMENT_BYTES, and a
    count of the bytes read, for the progress bar."""

    def __init__(self, name: str, stream: BinaryIO) -> None:
        self.name = name
        self.stream = stream
        self.row = 0  # the row being read
        self.read = 0  # bytes read
        self.given = 0  # bytes accounted for by taken()

    def __iter__(self) -> Iterator[str]:
        encoding = "utf-8-sig"
        while data := self.stream.readline(MAX_DOCUMENT_BYTES + 1):
            where = f"{self.name} row {self.row}"
            if len(data) > MAX_DOCUMENT_BYTES:
                raise ValidationError(
                    where, f"has a line longer than {MAX_DOCUMENT_BYTES:,} bytes"
                )
            self.read += len(data)
            try:
                yield data.decode(encoding)
            except UnicodeDecodeError as e:
                raise ValidationError(
                    where,
                    f"is not UTF-8 (byte 0x{data[e.start]:02x}); save the "
                    "spreadsheet as CSV in UTF-8",
                ) from None
            encoding = "utf-8"

    def taken(self) -> int:
        """The bytes read since the last call."""
        size, self.given = self.read - self.given, self.read
        return size


def _rows(text: _Text, delimiter: str) -> Iterator[list[str]]:
    """The CSV records, counting them in `text.row`."""
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    while True:
        text.row += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise ValidationError(
                f"{text.name} row {text.row}", f"is not valid CSV: {e}"
            ) from None
        yield record


def _read_text(file: str) -> str:
    """A mapping file's text, refused past MAX_DOCUMENT_BYTES."""
    data = read_limited(file, "--mapping")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise click.BadParameter(
            f"{file} is not UTF-8 (byte {e.start})", param_hint="--mapping"
        ) from None
