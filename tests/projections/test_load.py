"""A load into empty views: larger transactions, indexes built at its end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import pytest

from khronika.domain.documents import Citation
from khronika.projections import schema, views
from khronika.projections.views import Positioned, Views, ViewStore, open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment

CITE = [Citation(source="worldcrunch-kz-separatism", locator="para:2")]


@pytest.fixture
def chronicle(seeded: Chronicle, make: Any) -> Chronicle:
    """Some thirty events: facts, corrections, a retraction, entity changes."""
    for i in range(12):
        seeded.append_fact(make.fact(id=f"verdict-{i}", when=f"20{10 + i}"), "ann")
    for n, i in enumerate((2, 5, 2, 9)):
        seeded.correct(f"verdict-{i}", {"summary": f"Checked {n}."}, "c", CITE, "b")
    seeded.retract("verdict-5", "duplicate", CITE, "b")
    seeded.add_alias("tatyana-serebryakova", "T. Serebryakova", "b")
    seeded.register_entity(make.entity("another-person"), "b")
    for i in (0, 11):
        seeded.correct(f"verdict-{i}", {"when": "2019-05"}, "date", CITE, "b")
    return seeded


@pytest.fixture
def small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 3 events, loads of 7 per transaction: every path is taken."""
    monkeypatch.setattr(views, "BATCH", 3)
    monkeypatch.setattr(views, "LOAD", 7)


def one_at_a_time(app: Chronicle, tmp_path: Path) -> ViewStore:
    """The views caught up one event per call: never a load."""
    replayed = Views(str(tmp_path / "one-at-a-time.db"))
    while replayed.catch_up(lambda after: islice(app.read_after(after), 1)):
        pass
    return replayed


def tables(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    found = {}
    for table, columns in schema.TABLES.items():
        names = (*columns, *schema.RECORDED)
        rows = store.query(f"SELECT * FROM {table} ORDER BY {', '.join(names)}")
        found[table] = [tuple(row[n] for n in names) for row in rows]
    return found


def test_a_load_into_empty_views_writes_the_rows_of_a_catch_up_and_every_index(
    chronicle: Chronicle, small: None, tmp_path: Path
) -> None:
    loaded = open_views(environment(chronicle.location))
    events = loaded.catch_up(chronicle.read_after)
    assert events == chronicle.recorder.max_notification_id()
    assert tables(loaded) == tables(one_at_a_time(chronicle, tmp_path))
    assert schema.DEFERRED <= loaded.index_names()
    assert loaded.position() == events


def test_a_load_cut_short_leaves_its_indexes_to_the_next_catch_up(
    chronicle: Chronicle, small: None, tmp_path: Path
) -> None:
    def failing(after: int) -> Iterator[Positioned]:
        for position, event in chronicle.read_after(after):
            if position > 10:
                raise OSError("the disk went away")
            yield position, event

    loaded = open_views(environment(chronicle.location))
    with pytest.raises(OSError, match="went away"):
        loaded.catch_up(failing)
    assert loaded.position() == 9  # the first load transaction: 3 batches of 3
    assert not schema.DEFERRED & loaded.index_names()
    assert loaded.catch_up(chronicle.read_after) > 0
    assert schema.DEFERRED <= loaded.index_names()
    assert tables(loaded) == tables(one_at_a_time(chronicle, tmp_path))


def test_a_catch_up_after_a_load_appends_in_small_transactions(
    chronicle: Chronicle, small: None, tmp_path: Path, make: Any
) -> None:
    loaded = open_views(environment(chronicle.location))
    loaded.catch_up(chronicle.read_after)
    chronicle.correct("verdict-3", {"summary": "Later."}, "c", CITE, "b")
    chronicle.append_fact(make.fact(id="verdict-late", when="2024"), "ann")
    seen: list[int] = []
    assert loaded.catch_up(chronicle.read_after, seen.append) == 2
    assert seen == [2]
    assert tables(loaded) == tables(one_at_a_time(chronicle, tmp_path))


@pytest.mark.postgres
def test_a_postgres_role_that_may_write_rows_but_not_indexes_loads_and_catches_up(
    postgres_db: str, make: Any, small: None, tmp_path: Path
) -> None:
    import psycopg

    app = Chronicle(postgres_db, create=True)
    app.add_source(make.source(), "tester")
    app.register_entity(make.entity("tatyana-serebryakova"), "tester")
    articles = [{"number": "180", "title": "Separatist activity"}]
    app.register_entity(
        make.entity("kz-criminal-code-2014", "law", articles=articles), "tester"
    )
    for i in range(12):
        app.append_fact(make.fact(id=f"verdict-{i}", when=f"20{10 + i}"), "ann")
    role = f"writer_{os.getpid()}"
    with psycopg.connect(postgres_db, autocommit=True) as c:
        c.execute(f"CREATE ROLE {role} LOGIN")
        c.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        c.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES "
                  f"IN SCHEMA public TO {role}")  # fmt: skip
    writer = postgres_db.replace("postgres@", f"{role}@", 1)
    try:
        loaded = open_views(environment(writer), create=False)
        assert loaded.may_write()
        assert loaded.catch_up(app.read_after) == 15  # a load, indexes kept
        assert schema.DEFERRED <= loaded.index_names()
        assert tables(loaded) == tables(one_at_a_time(app, tmp_path))
        with psycopg.connect(postgres_db, autocommit=True) as c:
            c.execute("DROP INDEX view_roles_0")  # as an owner's load cut short
        app.append_fact(make.fact(id="verdict-late", when="2024"), "ann")
        assert loaded.catch_up(app.read_after) == 1  # the index left to the owner
        assert "view_roles_0" not in loaded.index_names()
        loaded.datastore.close()
    finally:
        app.close()
        with psycopg.connect(postgres_db, autocommit=True) as c:
            c.execute(f"DROP OWNED BY {role}")
            c.execute(f"DROP ROLE {role}")
