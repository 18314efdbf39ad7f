"""The PostgreSQL recorder passes eventsourcing's suite and khronika's own reads."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI, a missing psycopg fails
    pytest.importorskip("psycopg", reason="pip install 'khronika[postgres]'")

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from khronika.domain.aggregates import Entity, Source
from khronika.domain.errors import StoreError
from khronika.store import postgres as pg
from khronika.store.app import Chronicle
from khronika.store.postgres import KhronikaPostgresRecorder

pytestmark = pytest.mark.postgres


def _datastore(url: str, schema: str = "") -> PostgresDatastore:
    parts = urlsplit(url)
    return PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        schema=schema,
        pool_size=4,
        max_overflow=12,  # the concurrency test runs 10 writers and 2 readers
    )


class TestKhronikaPostgresRecorder(
    ApplicationRecorderTestCase[KhronikaPostgresRecorder]
):
    @pytest.fixture(autouse=True)
    def _db(self, postgres_db: str) -> Iterator[None]:
        self.url = postgres_db
        self.datastores: list[PostgresDatastore] = []
        yield
        for datastore in self.datastores:
            datastore.close()

    def create_recorder(self) -> KhronikaPostgresRecorder:
        datastore = _datastore(self.url)
        self.datastores.append(datastore)
        recorder = KhronikaPostgresRecorder(datastore)
        recorder.create_table()
        return recorder

    def test_concurrent_throughput(self) -> None:
        pytest.skip("throughput is measured in tests/benchmarks, not here")

    def test_performance(self) -> None:
        pytest.skip("throughput is measured in tests/benchmarks, not here")


@pytest.fixture
def recorder(postgres_db: str) -> Iterator[KhronikaPostgresRecorder]:
    datastore = _datastore(postgres_db)
    recorder = KhronikaPostgresRecorder(datastore)
    recorder.create_table()
    yield recorder
    datastore.close()


def _event(originator_id: UUID | None = None, version: int = 1) -> StoredEvent:
    return StoredEvent(originator_id or uuid4(), version, "topic", b"{}")


def _id(event: StoredEvent) -> UUID:
    assert isinstance(event.originator_id, UUID)
    return event.originator_id


def _ids(events: list[StoredEvent]) -> list[UUID]:
    return [_id(e) for e in events]


def test_first_events_finds_existing_streams_in_chunks(
    recorder: KhronikaPostgresRecorder,
) -> None:
    events = [_event() for _ in range(2 * pg.CHUNK + 1)]
    recorder.insert_events(events)
    recorder.insert_events([_event(_id(e), 2) for e in events[:10]])
    wanted = _ids(events[::2]) + [uuid4()]
    found = recorder.first_events(wanted)
    assert set(found) == set(wanted[:-1])
    assert all(e.originator_version == 1 for e in found.values())
    first = events[0]
    assert found[_id(first)] == first


def test_first_events_queries_each_chunk(
    recorder: KhronikaPostgresRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Streams at both ends of every chunk are found, none twice or lost."""
    monkeypatch.setattr(pg, "CHUNK", 3)
    events = [_event() for _ in range(10)]
    recorder.insert_events(events)
    found = recorder.first_events(_ids(events))
    assert len(found) == 10 and set(found) == set(_ids(events))
    assert recorder.first_events([]) == {}
    assert recorder.first_events([uuid4(), uuid4()]) == {}


def test_stream_notifications_are_in_version_order_with_log_positions(
    recorder: KhronikaPostgresRecorder,
) -> None:
    a, b = uuid4(), uuid4()
    positions: list[int] = []
    for event in [_event(a, 1), _event(b, 1), _event(a, 2), _event(b, 2)]:
        positions += recorder.insert_events([event]) or []
    positions += recorder.insert_events([_event(a, 3), _event(b, 3)]) or []
    assert positions == [1, 2, 3, 4, 5, 6]
    stream = recorder.stream_notifications(a)
    assert [(n.id, n.originator_version) for n in stream] == [(1, 1), (3, 2), (5, 3)]
    assert all(n.originator_id == a for n in stream)
    assert recorder.stream_notifications(uuid4()) == []


def test_a_failed_batch_writes_nothing_and_later_positions_still_rise(
    recorder: KhronikaPostgresRecorder,
) -> None:
    taken = _event()
    assert recorder.insert_events([taken]) == [1]
    with pytest.raises(IntegrityError):
        recorder.insert_events([_event(), taken, _event()])
    assert recorder.max_notification_id() == 1
    # Unlike SQLite's rowids, the failed batch burnt sequence values: a gap.
    (after,) = recorder.insert_events([_event()]) or []
    assert after > 2
    assert [n.id for n in recorder.select_notifications(1, 10)] == [1, after]


def test_read_meta_is_none_before_the_table_exists(postgres_db: str) -> None:
    datastore = _datastore(postgres_db)
    try:
        bare = KhronikaPostgresRecorder(datastore)  # no create_table()
        assert bare.read_meta() is None
        bare.create_meta_table()
        assert bare.read_meta() == {}
    finally:
        datastore.close()


def test_meta_round_trips_and_a_set_value_never_changes(
    recorder: KhronikaPostgresRecorder,
) -> None:
    recorder.create_meta_table()
    recorder.write_meta({"store_id": "one", "format": "1"})
    recorder.write_meta({"store_id": "two", "created_at": "2030-01-01"})
    recorder.write_meta({})
    recorder.create_meta_table()  # idempotent: keeps what is there
    assert recorder.read_meta() == {
        "store_id": "one",
        "format": "1",
        "created_at": "2030-01-01",
    }


def test_copies_are_stored_once_by_hash(recorder: KhronikaPostgresRecorder) -> None:
    recorder.create_meta_table()
    article, image = "Caf\u00e9 article".encode(), bytes(range(256))
    digests = {hashlib.sha256(c).hexdigest(): c for c in (article, image)}
    for sha, content in digests.items():
        assert recorder.put_copy(sha, content) is True
        assert recorder.put_copy(sha, b"other bytes") is False
    for sha, content in digests.items():
        assert recorder.get_copy(sha) == content
    assert recorder.get_copy("0" * 64) is None
    assert list(recorder.copies()) == sorted(digests.items())


def test_meta_lives_in_the_recorders_schema(postgres_db: str) -> None:
    public = _datastore(postgres_db)
    other = _datastore(postgres_db, schema="elsewhere")
    try:
        with public.transaction(commit=True) as c:
            c.execute("CREATE SCHEMA elsewhere")
        in_public = KhronikaPostgresRecorder(public)
        in_other = KhronikaPostgresRecorder(other)
        in_public.create_meta_table()
        in_public.write_meta({"store_id": "public"})
        assert in_other.read_meta() is None
        in_other.create_meta_table()
        in_other.write_meta({"store_id": "elsewhere"})
        assert in_public.read_meta() == {"store_id": "public"}
        assert in_other.read_meta() == {"store_id": "elsewhere"}
    finally:
        public.close()
        other.close()


def _round_trip(url: str, make: Any) -> None:
    """Create a chronicle, add a source and an entity, reopen, read them back."""
    app = Chronicle(url, create=True)
    try:
        assert isinstance(app.store, KhronikaPostgresRecorder)
        store_id = app.meta["store_id"]
        app.add_source(make.source(), "tester")
        app.register_entity(make.entity("tatyana-serebryakova"), "tester")
    finally:
        app.close()

    again = Chronicle(url)
    try:
        assert again.meta["store_id"] == store_id
        assert again.get(Source, make.source().id).doc == make.source()
        entity = again.get(Entity, "tatyana-serebryakova")
        assert entity.doc == make.entity("tatyana-serebryakova")
        assert [pos for pos, _ in again.history("entity", "tatyana-serebryakova")] == [
            2
        ]
    finally:
        again.close()


def test_chronicle_round_trips_on_postgres(postgres_db: str, make: Any) -> None:
    _round_trip(postgres_db, make)


def test_a_database_without_khronika_tables_is_no_store(postgres_db: str) -> None:
    with pytest.raises(StoreError, match="is not a khronika store"):
        Chronicle(postgres_db)
