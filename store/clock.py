"""Record time: the store's own UTC clock, which never runs backwards.

An event's record time is part of its stored bytes (and so of its Merkle
leaf), yet it must follow the log: if writer A stamps at 10:00:01 and then
waits for the write lock while writer B stamps at 10:00:02 and commits,
A's event would sit after B's in the log with an earlier record time, and
an answer `--known-at 10:00:01` would change once A commits. So the time an
event is built with is provisional; the recorder stamps the stored event
again inside the transaction that commits it, after it holds the write
lock, from the last record time in the log (see `Stamper`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from eventsourcing.persistence import StoredEvent

from khronika.store import codec

TICK = timedelta(microseconds=1)


def system_now() -> datetime:
    return datetime.now(UTC)


class RecordClock:
    """Hands out strictly increasing UTC timestamps.

    It starts after the last record time it was told of, so even if the
    system clock is set back, new events are recorded after the ones before
    them.
    """

    def __init__(
        self, last: datetime | None, source: Callable[[], datetime] = system_now
    ) -> None:
        self.last = last
        self.source = source

    def after(self, moment: datetime) -> None:
        """Hand out times after `moment` from now on."""
        if self.last is None or moment > self.last:
            self.last = moment

    def now(self) -> datetime:
        now = self.source().astimezone(UTC)
        if self.last is not None and now <= self.last:
            now = self.last + TICK
        self.last = now
        return now


_KEY = b'"timestamp":'


def restamp(state: bytes, moment: datetime) -> bytes:
    """The state with its record time replaced by `moment`.

    The bytes are what msgspec would encode for the event with the new
    time: an event's fields are encoded in declaration order, and the ones
    before `timestamp` (an optional `class_version`, the stream's UUID and
    version) hold no text a user wrote, so the first `"timestamp":` key is
    the field. tests/store/test_clock.py checks this against re-encoding.
    """
    start = state.index(_KEY) + len(_KEY)
    end = state.index(b'"', start + 1) + 1
    return state[:start] + msgspec.json.encode(moment) + state[end:]


class Stamper:
    """Record time for one transaction; a recorder calls `stamp` under its lock.

    It travels to the recorder as the `stamper` keyword of `insert_events`,
    which eventsourcing passes on to the recorder's insert hooks; without it
    (`khronika migrate`, which copies events as they are) nothing is
    restamped. `stamped` keeps the events as they were written.
    """

    def __init__(self, clock: RecordClock) -> None:
        self.clock = clock
        self.stamped: list[StoredEvent] = []

    def stamp(
        self, last_state: bytes | None, events: Sequence[StoredEvent]
    ) -> list[StoredEvent]:
        """`events` stamped after `last_state`, the last event in the log."""
        if last_state is not None:
            self.clock.after(codec.stamp_of(last_state))
        self.stamped = [
            StoredEvent(
                originator_id=e.originator_id,
                originator_version=e.originator_version,
                topic=e.topic,
                state=restamp(e.state, self.clock.now()),
            )
            for e in events
        ]
        return self.stamped
