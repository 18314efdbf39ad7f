"""The views benchmark's baseline does the same work: its tables equal khronika's."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from khronika.domain.documents import Citation, EntityDoc, FactDoc, Participant, When
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
    store = build(tmp_path, 300, more=_varied)  # corrections, retractions too
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


LONG = "Ё" * 230  # a word longer than search keeps (text.LONGEST)


def _varied(app: Any) -> None:
    """Records that take the baseline's other paths: text beyond ASCII, a
    date's wording, quotes, a long word, entity changes, and redactions (a
    value erased from a recording and from a correction)."""
    by, why = "bench", "no copy"
    app.register_entity(
        EntityDoc(id="zhanna", kind="person", name="Жанна Әлиева",
                  aliases=["Zhanna Élan"], note="Ұлттық"), by)  # fmt: skip
    app.add_alias("zhanna", "Жанна", by)
    app.rename("zhanna", "Жанна Ә.", "short", by)
    for i, (summary, wording, quote) in enumerate([
        ("Суд Әлиевой: приговор", "весной 1995", f"«Сказал» {LONG}"),
        (f"Word {'x' * 230} end", "spring 1995", "Said so"),  # ASCII only
        ("Élan vital", None, None),
    ]):  # fmt: skip
        cited = [Citation(source="src", locator="para:1", quote=quote),
                 Citation(source="src", locator="para:2")]  # fmt: skip
        when = When(edtf="1995-04", wording=wording) if wording else "1995-04"
        app.append_fact(
            FactDoc(id=f"varied-{i}", kind="statement", when=when,
                    summary=summary, sources=cited,
                    participants=[Participant(entity="zhanna", role="subject")]),
            by, unchecked=why,
        )  # fmt: skip
        app.correct(f"varied-{i}", {"summary": f"{summary} (ред.)"}, "fix",
                    cited[:1], by, unchecked=why)  # fmt: skip
    app.redact("fact", "varied-0", ["summary"], "asked", by=by)
    app.redact("fact", "fact-1", ["summary"], "asked", by=by)
