"""`verify` runs SQLite's own checks; `verify --views` sees a damaged index
and a bogus `view_format`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import Result

from khronika.projections.views import open_views
from khronika.store.location import environment

Run = Callable[..., Result]


@pytest.mark.sqlite_only
def test_verify_names_the_table_of_a_malformed_page(demo: Run, store_path: str) -> None:
    with closing(sqlite3.connect(store_path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        (root,) = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'view_citations'"
        ).fetchone()
    with Path(store_path).open("r+b") as f:  # a page's header and cell pointers
        f.seek((root - 1) * page_size)
        f.write(b"\x0d" + b"\xff" * 40)
    result = demo("verify")
    assert result.exit_code == 1
    assert (
        f"Error: {store_path}: the store file is damaged: SQLite's quick_check "
        "fails in view_citations: " in result.output
    )


@pytest.mark.sqlite_only
def test_verify_views_sees_an_index_missing_rows(demo: Run, store_path: str) -> None:
    with closing(sqlite3.connect(store_path)) as db:
        (index,) = db.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'view_roles_0'"
        ).fetchone()
    # make the index partial, empty it, and make it whole again
    with closing(sqlite3.connect(store_path, isolation_level=None)) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = 'view_roles_0'",
            [index + " WHERE 0"],
        )
    with closing(sqlite3.connect(store_path, isolation_level=None)) as db:
        db.execute("REINDEX view_roles_0")
    with closing(sqlite3.connect(store_path, isolation_level=None)) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute(
            "UPDATE sqlite_master SET sql = ? WHERE name = 'view_roles_0'", [index]
        )
    assert demo("verify").exit_code == 0  # the log and the file's pages hold
    result = demo("verify", "--views")
    assert result.exit_code == 1
    assert (
        "Error: the views do not match the log: SQLite's integrity_check fails "
        "in view_roles: " in result.output
    )
    assert "view_roles_0" in result.output


@pytest.mark.parametrize(
    "statement",
    ["UPDATE view_format SET format = 99", "INSERT INTO view_format VALUES (7)"],
)
def test_verify_refuses_a_bogus_view_format(
    demo: Run, store_path: str, statement: str
) -> None:
    views = open_views(environment(store_path))
    with views.datastore.transaction(commit=True) as c:
        views._enter(c)
        c.execute(statement)
    result = demo("verify", "--views")
    assert result.exit_code == 1
    assert "Error: this store has views of format " in result.output
    assert "Run `khronika upgrade` once" in result.output
