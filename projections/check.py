"""Checking the views against the log: a scratch replay, compared row by row.

The views are derived data, kept beside the events where anyone with write
access can edit them. `verify --views` replays the log, up to the views'
tracking position, into a scratch SQLite copy (never the real views) and
compares every table, naming the first row that differs. A tracking position
ahead of the log is reported too: it would hide the events after it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from khronika.projections import schema
from khronika.projections.views import Positioned, Snapshot, Views, ViewStore


def position_problem(snapshot: Snapshot) -> str | None:
    """A tracking position past the log's last event means a tampered position.

    Both are read in one snapshot: under a live writer and a reader catching
    the views up, a head read before the position would cry wolf.
    """
    position, head = snapshot.position(), snapshot.head()
    if position > head:
        return (
            f"the views' tracking position ({position}) is past the last event "
            f"in the log ({head}): it was moved behind khronika's back; run "
            "`khronika projections rebuild`"
        )
    return None


def compare(
    views: Snapshot, read_after: Callable[[int], Iterable[Positioned]]
) -> str | None:
    """The first difference between the views, as they stand in one snapshot,
    and a replay of the log up to their position then; None if none."""
    position = views.position()

    def upto(after: int) -> Iterator[Positioned]:
        for positioned in read_after(after):
            if positioned[0] > position:
                return
            yield positioned

    with tempfile.TemporaryDirectory(prefix="khronika-views-") as tmp:
        scratch = Views(str(Path(tmp) / "scratch.db"))
        scratch.catch_up(upto)
        for table, columns in schema.TABLES.items():
            found = _first_difference(table, columns, views, scratch)
            if found:
                return found
    return None


def _first_difference(
    table: str, columns: tuple[str, ...], views: Snapshot, scratch: ViewStore
) -> str | None:
    names = (*columns, *schema.RECORDED)
    order = f"{columns[0]}, {columns[1]}, recorded_from"
    sql = f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}, " + ", ".join(
        names[2:]
    )
    stored, replayed = _rows(views, sql, names), _rows(scratch, sql, names)
    for got, want in zip_longest(stored, replayed):
        if got == want:
            continue
        if want is None:
            return f"{table}: row {_key(got)} is not in a replay of the log"
        if got is None:
            return f"{table}: row {_key(want)} of a replay of the log is missing"
        if got[:2] != want[:2]:
            return f"{table}: row {_key(got)} where a replay has {_key(want)}"
        column = next(n for n, a, b in zip(names, got, want, strict=True) if a != b)
        return (
            f"{table}: row {_key(got)} differs from a replay of the log in "
            f"{column} ({got[names.index(column)]!r}, replayed "
            f"{want[names.index(column)]!r})"
        )
    return None


def _key(row: tuple[Any, ...]) -> str:
    return f"{row[0]} v{row[1]}"


def _rows(
    views: Snapshot | ViewStore, sql: str, names: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    return [tuple(r[n] for n in names) for r in views.query(sql)]
