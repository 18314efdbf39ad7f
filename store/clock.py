"""Record time: the store's own UTC clock, which never runs backwards."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

TICK = timedelta(microseconds=1)


def system_now() -> datetime:
    return datetime.now(UTC)


class RecordClock:
    """Hands out strictly increasing UTC timestamps.

    It starts after the last record time in the store, so even if the system
    clock is set back, new events are recorded after the ones before them.
    """

    def __init__(
        self, last: datetime | None, source: Callable[[], datetime] = system_now
    ) -> None:
        self.last = last
        self.source = source

    def now(self) -> datetime:
        now = self.source().astimezone(UTC)
        if self.last is not None and now <= self.last:
            now = self.last + TICK
        self.last = now
        return now
