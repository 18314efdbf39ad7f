"""Record time follows the log: it is stamped after the write lock is taken."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from khronika.domain.documents import Citation
from khronika.domain.events import Event, FactRetracted
from khronika.store import attest
from khronika.store.app import Chronicle
from khronika.store.clock import restamp
from khronika.store.codec import MsgspecMapper, NullTranscoder, decode, stamp_of

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _log_times(location: str) -> list[datetime]:
    app = Chronicle(location)
    times = [decode(n.topic, n.state).timestamp for n in app.notifications()]
    app.close()
    return times


def test_a_writer_waiting_for_the_lock_is_stamped_after_the_one_holding_it(
    seeded: Chronicle, make: Any, store_path: str, hand_of: Any
) -> None:
    """Writer A takes its time while writer C holds the write lock; C's event
    (recorded later by the clocks) commits first, so A's must be stamped
    after it, not with the time A read before it waited."""
    holder = Chronicle(store_path)
    holder.hand = hand_of(seeded, "holder")
    holder.clock.source = lambda: T0 + timedelta(hours=2)
    waiter = Chronicle(store_path)
    waiter.hand = hand_of(seeded, "waiter")
    waiter_read_clock = threading.Event()

    def waiter_clock() -> datetime:
        waiter_read_clock.set()
        return T0 + timedelta(hours=1)

    waiter.clock.source = waiter_clock
    errors: list[BaseException] = []

    def waiter_writes() -> None:
        try:
            waiter.register_entity(make.entity("andrei-astakhov"), "waiter")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    thread = threading.Thread(target=waiter_writes)
    grow = holder.store._grow_tree

    def grow_while_the_waiter_stamps(*args: Any, **kwargs: Any) -> Any:
        # inside the holder's transaction, with the write lock held
        if not thread.is_alive():
            thread.start()
            assert waiter_read_clock.wait(30), "the waiter never read its clock"
        return grow(*args, **kwargs)

    holder.store._grow_tree = grow_while_the_waiter_stamps  # type: ignore[method-assign]
    holder.register_entity(make.entity("evgenia-potopa"), "holder")
    thread.join(60)
    assert not errors and not thread.is_alive()

    app = Chronicle(store_path)
    last_two = [decode(n.topic, n.state) for n in app.notifications()][-2:]
    assert [e.recorded_by for e in last_two] == ["holder", "waiter"]
    times = _log_times(store_path)
    assert times == sorted(times) and len(set(times)) == len(times)
    app.close()
    holder.close()
    waiter.close()


def test_a_long_lived_writer_stamps_after_events_another_wrote_meanwhile(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    first = Chronicle(store_path)
    first.hand = attest.load_hand()  # signs as the CLI would
    first.clock.source = lambda: T0
    first.add_alias("tatyana-serebryakova", "T. S.", "first")
    other = Chronicle(store_path)
    other.hand = attest.load_hand()  # signs as the CLI would
    other.clock.source = lambda: T0 + timedelta(days=1)
    other.add_alias("tatyana-serebryakova", "Tanya", "other")
    late = first.add_alias("tatyana-serebryakova", "T. Serebryakova", "first")
    assert late.timestamp > T0 + timedelta(days=1)
    times = _log_times(store_path)
    assert times == sorted(times) and times[-1] == late.timestamp
    first.close()
    other.close()


def test_the_event_a_command_returns_carries_its_stored_record_time(
    seeded: Chronicle, make: Any
) -> None:
    event = seeded.append_fact(make.fact(), "ann")
    (stored,) = seeded.store.stream_notifications(event.originator_id)
    assert decode(stored.topic, stored.state) == event


def test_migrate_copies_record_times_unchanged(
    seeded: Chronicle, make: Any, tmp_path: Any
) -> None:
    from khronika.store.migrate import migrate

    seeded.append_fact(make.fact(), "ann")
    copy = migrate(seeded, str(tmp_path / "copy.db"))
    assert [n.state for n in copy.notifications()] == [
        n.state for n in seeded.notifications()
    ]
    copy.close()


_moments = st.datetimes(
    min_value=datetime(1970, 1, 1),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC),
)


@given(first=_moments, second=_moments, version=st.integers(1, 10**6))
def test_restamp_equals_encoding_the_event_with_the_new_time(
    first: datetime, second: datetime, version: int
) -> None:
    mapper = MsgspecMapper(transcoder=NullTranscoder())
    event: Event = FactRetracted(
        originator_id=UUID("6f1c0e2a-5b7d-4e0b-9a51-6b686f6e696b"),
        originator_version=version, timestamp=first, recorded_by='"timestamp":"x"',
        slug="a", reason='"timestamp":"1999-01-01T00:00:00Z"',
        sources=[Citation(source="src", locator="para:1")],
    )  # fmt: skip
    stored = mapper.to_stored_event(event)
    again = mapper.to_stored_event(msgspec.structs.replace(event, timestamp=second))
    assert restamp(stored.state, second) == again.state
    assert stamp_of(again.state) == second
