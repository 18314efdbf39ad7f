"""The SQLite recorder with the bulk insert path passes eventsourcing's own suite."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteDatastore
from eventsourcing.tests.persistence import ApplicationRecorderTestCase

from khronika.store.sqlite import KhronikaSQLiteRecorder


class TestKhronikaSQLiteRecorder(ApplicationRecorderTestCase[KhronikaSQLiteRecorder]):
    @pytest.fixture(autouse=True)
    def _db(self, tmp_path: Path) -> None:
        self.db = str(tmp_path / "recorder.db")

    def create_recorder(self) -> KhronikaSQLiteRecorder:
        recorder = KhronikaSQLiteRecorder(SQLiteDatastore(self.db))
        recorder.create_table()
        return recorder

    def test_concurrent_throughput(self) -> None:
        pytest.skip("throughput is measured in tests/benchmarks, not here")

    def test_performance(self) -> None:
        pytest.skip("throughput is measured in tests/benchmarks, not here")


def _event(version: int = 1) -> StoredEvent:
    return StoredEvent(uuid4(), version, "topic", b"{}")


def test_batch_notification_ids_are_the_rows_just_written(tmp_path: Path) -> None:
    recorder = KhronikaSQLiteRecorder(SQLiteDatastore(str(tmp_path / "r.db")))
    recorder.create_table()
    assert recorder.insert_events([_event(), _event()]) == [1, 2]
    assert recorder.insert_events([_event(), _event(), _event()]) == [3, 4, 5]
    ids = [n.id for n in recorder.select_notifications(1, 10)]
    assert ids == [1, 2, 3, 4, 5]


def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    recorder = KhronikaSQLiteRecorder(SQLiteDatastore(str(tmp_path / "r.db")))
    recorder.create_table()
    taken = _event()
    recorder.insert_events([taken])
    with pytest.raises(Exception, match="UNIQUE"):
        recorder.insert_events([_event(), taken, _event()])
    assert recorder.max_notification_id() == 1


def test_first_events_finds_existing_streams_in_chunks(tmp_path: Path) -> None:
    recorder = KhronikaSQLiteRecorder(SQLiteDatastore(str(tmp_path / "r.db")))
    recorder.create_table()
    events = [_event() for _ in range(1200)]
    recorder.insert_events(events)
    wanted = [e.originator_id for e in events[::2]] + [uuid4()]
    found = recorder.first_events(wanted)  # type: ignore[arg-type]
    assert set(found) == set(wanted[:-1])
