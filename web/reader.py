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

from eventsourcing.persistence import PersistenceError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from khronika.domain.errors import StoreError
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
        self.location = location
        self.blocking = loc.is_postgres(location)  # waits on the network
        self._lock = threading.Lock()
        self._open()
        # Why the database refused last (a PostgreSQL server that is down or
        # refuses connections); None while it answers.
        self.down: str | None = None

    def _open(self) -> None:
        self.app = Chronicle(loc.reading(self.location))
        self.app.keep_catalogue = True  # it never writes: see Chronicle.catalogue
        self.views = read_views(self.app.location, self.head(), self.app.read_after)
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
                return await run_in_threadpool(self._guarded, respond, request)
            return respond(request)

        return endpoint

    def _guarded(
        self, respond: Callable[[Request], Response], request: Request
    ) -> Response:
        """`respond`, or at once a 503 while the PostgreSQL server refuses.

        eventsourcing's connection pool waits for a connection up to its
        timeout, and after an outage retries with a growing backoff; so once
        the database has refused, each request asks the server directly (a
        refusal is immediate), and on its first answer the store is opened
        afresh, with a new pool.
        """
        if self.down is not None and not self._back():
            return unavailable(self.down)
        try:
            return respond(request)
        except (PersistenceError, StoreError) as e:
            self.down = str(e)  # the pool says only that it waited: ask the server
            if self._back():
                return respond(request)
            return unavailable(self.down)

    def _refusal(self) -> str | None:
        """What the PostgreSQL server says to a new connection; None if it
        takes it."""
        from khronika.store.postgres import probe  # needs psycopg

        try:
            probe(self.location, loc.environment(self.location))
        except StoreError as e:
            return str(e)
        return None

    def _back(self) -> bool:
        """Whether the server answers again; if so, the store is reopened."""
        with self._lock:
            if self.down is None:
                return True
            try:
                self._open()
            except (PersistenceError, StoreError) as e:
                self.down = str(e)
                return False
            self.down = None
            return True

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
        """Catch the views up every `every` seconds. On PostgreSQL, ask the
        server first, directly: a request that met a refusal through the
        pool would wait out its retries (eventsourcing's, some 30 s), so an
        outage is noticed here, and answered 503 at once from then on."""
        while not stop.wait(every):
            if self.down is None and self.blocking:
                self.down = self._refusal()
            if self.down is not None and not self._back():
                continue
            try:
                self.refresh()
            except (PersistenceError, StoreError) as e:  # said by each answer
                self.down = str(e)

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


def unavailable(why: str) -> Response:
    """503: the database does not answer; the client may retry shortly."""
    from khronika.web.http import problem  # which reads through a Reader

    response = problem(503, f"the store's database does not answer: {why}")
    response.headers["Retry-After"] = "5"
    return response
