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
    # batches split versions, and transactions split batches
    assert rebuild(store, target, batch=97, load=200) == projected
    ours, raw = sqlite3.connect(store), sqlite3.connect(target)
    for table in schema.TABLES:
        order = ", ".join(schema.TABLES[table][:2])
        query = f"SELECT * FROM {table} ORDER BY {order}, recorded_from"
        expected = ours.execute(query).fetchall()
        assert raw.execute(query).fetchall() == expected, table
    closed = f"SELECT COUNT(*) FROM view_facts WHERE recorded_to != '{schema.OPEN}'"
    assert raw.execute(closed).fetchone()[0] > 0  # corrections closed versions
    indexes = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name LIKE 'view%' ORDER BY 1"
    )
    assert raw.execute(indexes).fetchall() == ours.execute(indexes).fetchall()
    for table in schema.SEARCHED:  # the full-text index finds the same rows
        words = "SELECT search FROM " + table + " WHERE search != '' LIMIT 5"
        for (text,) in ours.execute(words).fetchall():
            match = (f"SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ? "
                     "ORDER BY rowid")  # fmt: skip
            term = f'"{text.split()[0]}"'
            found = raw.execute(match, [term]).fetchall()
            assert found and found == ours.execute(match, [term]).fetchall(), table
