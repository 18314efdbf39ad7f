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

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from itertools import islice
from typing import TypeVar, cast

import anyio
from eventsourcing.persistence import PersistenceError
from starlette.requests import Request
from starlette.responses import Response

from khronika.domain.errors import StoreError
from khronika.domain.events import stamp
from khronika.projections import deadline
from khronika.projections.deadline import TIME_LIMIT
from khronika.projections.reading import read_views, refresh
from khronika.store import location as loc
from khronika.store.app import Chronicle

T = TypeVar("T")
MEMO = 64  # answers kept by `Reader.memo`
READERS = 8  # answers worked on at once, each in a thread; more wait their turn


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
    def __init__(self, location: str, time_limit: float = TIME_LIMIT) -> None:
        self.location = location
        self.time_limit = time_limit
        self._readers = anyio.CapacityLimiter(READERS)
        self._memo: OrderedDict[Hashable, object] = OrderedDict()
        self._memo_lock = threading.Lock()
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
        """An endpoint answering with `respond`, in one of READERS threads.

        A slow answer (statistics over a million facts) then holds one
        thread, not the event loop: the others answer meanwhile, as SQLite
        and PostgreSQL both work without the GIL. A view query running past
        `time_limit` is stopped, and the answer is a 503 with Retry-After.
        """

        async def endpoint(request: Request) -> Response:
            return await anyio.to_thread.run_sync(
                self._timed, respond, request, limiter=self._readers
            )

        return endpoint

    def _timed(
        self, respond: Callable[[Request], Response], request: Request
    ) -> Response:
        with deadline.limit(self.time_limit):
            try:
                if self.blocking:
                    return self._guarded(respond, request)
                return respond(request)
            except (PersistenceError, sqlite3.Error):
                if deadline.passed():
                    return too_slow(self.time_limit)
                raise

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
            if deadline.passed():
                raise  # stopped by the time limit (_timed), not refused
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

    def memo(self, key: Hashable, compute: Callable[[], T]) -> T:
        """`compute()`, kept for the next MEMO questions: for answers that
        cost much (statistics), whose `key` names the views' position, so an
        answer is kept only while the views stand where it was read."""
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return cast(T, self._memo[key])
        found = compute()
        with self._memo_lock:
            self._memo[key] = found
            if len(self._memo) > MEMO:
                self._memo.popitem(last=False)
        return found

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
        known = self._stamps.get(position)  # read by the reader threads at once
        if known is None:
            found = list(islice(self.app.read_after(position - 1), 1))
            known = stamp(found[0][1].timestamp) if found else ""
            if len(self._stamps) > 8:  # only the head and the views' are asked for
                self._stamps = {}
            self._stamps[position] = known
        return known


def too_slow(limit: float) -> Response:
    """503: this answer took longer than the server allows; try again later."""
    from khronika.web.http import problem

    response = problem(
        503, f"the answer took longer than this server's limit of {limit:g} s"
    )
    response.headers["Retry-After"] = "10"
    return response


def unavailable(why: str) -> Response:
    """503: the database does not answer; the client may retry shortly."""
    from khronika.web.http import problem  # which reads through a Reader

    response = problem(503, f"the store's database does not answer: {why}")
    response.headers["Retry-After"] = "5"
    return response
