"""SQLite's own integrity checks of a store file, naming the damaged tables.

`PRAGMA quick_check` reads every page of the file and checks each b-tree's
structure (in time linear in the file); `PRAGMA integrity_check` also checks
that every index holds exactly its table's rows. Both take a table's name
(SQLite 3.33 and later) to check that table and its indexes alone, which is
how a failure is traced to the tables it touches. A PostgreSQL store has no
such check here: the server keeps its own pages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path

from khronika.store import location as loc


def damage(
    location: str, tables: Iterable[str] = (), *, full: bool = False
) -> str | None:
    """What SQLite finds wrong with the store file at `location` (in `tables`,
    or in all of them), naming each damaged table; None if it finds nothing.

    `full` runs `integrity_check` (indexes against their tables too) instead
    of `quick_check`.
    """
    if not loc.is_sqlite(location):
        return None
    pragma = "integrity_check" if full else "quick_check"
    try:
        with closing(sqlite3.connect(_read_only(location), uri=True)) as db:
            wanted = list(tables)
            if not wanted:
                if _problems(db, f"PRAGMA {pragma}") is None:
                    return None
                wanted = [row[0] for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )]  # fmt: skip
            found = [
                (table, problem)
                for table in wanted
                if (problem := _problems(db, f"PRAGMA {pragma}({_quoted(table)})"))
            ]
    except sqlite3.DatabaseError as e:  # too damaged to list its tables
        return f"SQLite cannot read the file: {e}"
    if not found:
        return None
    named = ", ".join(table for table, _ in found)
    return f"SQLite's {pragma} fails in {named}: {found[0][1]}"


def _problems(db: sqlite3.Connection, pragma: str) -> str | None:
    """The first line a check reports, or None where it says "ok"."""
    try:
        rows = [str(row[0]) for row in db.execute(pragma)]
    except sqlite3.DatabaseError as e:
        return str(e)
    return None if rows == ["ok"] else rows[0]


def _quoted(name: str) -> str:
    """A table name (read from the file itself) as an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _read_only(location: str) -> str:
    """`location` as a URI that opens it for reading only."""
    if location.startswith("file:"):
        return location
    return f"{Path(location).resolve().as_uri()}?mode=ro"
