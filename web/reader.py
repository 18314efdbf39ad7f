"""The store as the server reads it, with its views kept current.

The views are eventsourcing tracking recorders (`projections.views`), so
catching up writes a batch and its tracking position in one transaction.
eventsourcing's ProjectionRunner would drive them from a subscription to
the application recorder, but its SQLite recorder has no subscription (only
the POPO and PostgreSQL ones do), so one thread polls the log's head instead,
the same way on both stores, and catches up when it moved. On a store the
server may not write, nothing is caught up and every answer carries the lag.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import islice

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from khronika.domain.events import stamp
from khronika.projections.reading import read_views, refresh
from khronika.store import location as loc
from khronika.store.app import Chronicle


@dataclass(frozen=True)
class State:
    head: int  # the log's last position
    position: int  # the views'
    last_stamp: str  # record time of the last event ("" for an empty log)
    views_stamp: str  # record time of the last event the views hold

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class Reader:
    def __init__(self, location: str) -> None:
        self.blocking = loc.is_postgres(location)  # waits on the network
        self.app = Chronicle(loc.reading(location))
        self.app.keep_catalogue = True  # it never writes: see Chronicle.catalogue
        self.views = read_views(self.app.location, self.head(), self.app.read_after)
        self._lock = threading.Lock()
        self._stamps: dict[int, str] = {}

    def run(
        self, respond: Callable[[Request], Response]
    ) -> Callable[[Request], Awaitable[Response]]:
        """An endpoint answering with `respond`.

        A SQLite answer is CPU work under the GIL, shorter than a hop to a
        worker thread and back, so it runs on the event loop; a PostgreSQL
        one waits on the server, so it runs in Starlette's thread pool.
        """

        async def endpoint(request: Request) -> Response:
            if self.blocking:
                return await run_in_threadpool(respond, request)
            return respond(request)

        return endpoint

    def head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def state(self) -> State:
        head = self.head()
        position = self.views.position()
        return State(head, position, self._stamp(head), self._stamp(position))

    def refresh(self) -> None:
        with self._lock:  # one catch-up at a time in this process
            refresh(self.views, self.head(), self.app.read_after)

    def keep_current(self, stop: threading.Event, every: float) -> None:
        while not stop.wait(every):
            self.refresh()

    def close(self) -> None:
        self.views.datastore.close()
        self.app.close()

    def _stamp(self, position: int) -> str:
        """The record time of the event at `position` ("" before the first)."""
        if position <= 0:
            return ""
        if position not in self._stamps:
            if len(self._stamps) > 8:  # only the head and the views' are asked for
                self._stamps.clear()
            found = list(islice(self.app.read_after(position - 1), 1))
            self._stamps[position] = stamp(found[0][1].timestamp) if found else ""
        return self._stamps[position]
