"""A time limit on one thread's reads of the views (the server's answers).

Inside `limit(seconds)`, a view query that runs past the limit is stopped
by the database: SQLite through a progress handler on the connection, which
aborts the statement ("interrupted"); PostgreSQL through the transaction's
`statement_timeout`. Either surfaces as eventsourcing's PersistenceError,
or as sqlite3's own error where the handler, still on a pooled connection,
stops the BEGIN of the thread's next query, which eventsourcing does not
wrap; `passed()` tells the caller that the limit is why.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TIME_LIMIT = 10.0  # seconds, the server's default (`serve --time-limit`)
STEPS = 10_000  # SQLite virtual-machine steps between looks at the clock

_local = threading.local()


@contextmanager
def limit(seconds: float) -> Iterator[None]:
    _local.until = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.until = None


def _until() -> float | None:
    until: float | None = getattr(_local, "until", None)
    return until


def passed() -> bool:
    until = _until()
    return until is not None and time.monotonic() >= until


def watch(connection: sqlite3.Connection) -> None:
    """Make `connection` abort its statements once this thread's limit passes
    (and run freely for a thread without one: pooled connections are shared)."""
    handler = passed if _until() is not None else None
    connection.set_progress_handler(handler, STEPS)


def statement_timeout(cursor: Any) -> None:
    """Limit this PostgreSQL transaction's statements to what is left."""
    until = _until()
    if until is not None:
        left = max(int((until - time.monotonic()) * 1000), 1)
        cursor.execute(f"SET LOCAL statement_timeout = {left}")
