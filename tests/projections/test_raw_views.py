"""The views benchmark's baseline does the same work: its tables equal khronika's."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from khronika.projections import schema
from khronika.projections import views as views_module
from khronika.projections.views import Views
from khronika.store.app import Chronicle

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from raw_views import rebuild  # noqa: E402
from test_views import build  # noqa: E402


@pytest.mark.sqlite_only
def test_the_raw_baseline_writes_the_same_rows_as_khronika(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build(tmp_path, 300)  # with corrections and retractions
    monkeypatch.setattr(views_module, "BATCH", 50)  # a load of several
    monkeypatch.setattr(views_module, "LOAD", 120)  # transactions, as at scale
    views = Views(str(store))
    views.upgrade()
    projected = views.catch_up(Chronicle(str(store)).read_after)
    target = tmp_path / "raw.db"
    assert rebuild(store, target, chunk=97) == projected  # chunks split versions
    ours, raw = sqlite3.connect(store), sqlite3.connect(target)
    for table in schema.TABLES:  # every row, with its rowid (what FTS5 keeps)
        query = f"SELECT rowid, * FROM {table} ORDER BY rowid"
        expected = ours.execute(query).fetchall()
        assert raw.execute(query).fetchall() == expected, table
    for name, (_, key, _) in schema.LABELS.items():  # kept by triggers
        query = f"SELECT * FROM {name} ORDER BY {key}"
        expected = ours.execute(query).fetchall()
        assert expected and raw.execute(query).fetchall() == expected, name
    assert raw.execute("SELECT * FROM view_format").fetchall() == [(schema.FORMAT,)]
    closed = f"SELECT COUNT(*) FROM view_facts WHERE recorded_to != '{schema.OPEN}'"
    assert raw.execute(closed).fetchone()[0] > 0  # corrections closed versions
    made = (  # the views' tables (FTS5's own too), indexes, triggers and views
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE tbl_name NOT IN ('stored_events', 'tracking') "
        "AND substr(tbl_name, 1, 9) != 'khronika_' ORDER BY type, name"
    )
    expected = ours.execute(made).fetchall()
    assert {row[0] for row in expected} == {"table", "index", "trigger", "view"}
    assert raw.execute(made).fetchall() == expected
    for table in schema.SEARCHED:  # the full-text index finds the same rows
        words = "SELECT search FROM " + table + " WHERE search != '' LIMIT 5"
        for (text,) in ours.execute(words).fetchall():
            match = (f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ? "
                     "ORDER BY rowid")  # fmt: skip
            term = f'"{text.split()[0]}"'
            found = raw.execute(match, [term]).fetchall()
            assert found and found == ours.execute(match, [term]).fetchall(), table
