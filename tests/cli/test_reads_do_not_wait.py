"""A read that finds the views behind and their lock taken answers at once,
from the views as they stand, with the lag."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from click.testing import Result
from eventsourcing.persistence import OperationalError

from khronika.projections.postgres import LOCK
from khronika.projections.views import ViewStore
from khronika.store import attest
from khronika.store import location as loc
from khronika.store.app import Chronicle

Run = Callable[..., Result]


@contextmanager
def views_lock_held(store_path: str) -> Iterator[None]:
    """Another process in the middle of writing: SQLite's write lock, or the
    PostgreSQL views' advisory lock."""
    if loc.is_sqlite(store_path):
        db = sqlite3.connect(store_path, isolation_level=None)
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            db.execute("ROLLBACK")
            db.close()
        return
    import psycopg

    with psycopg.connect(store_path.partition("?")[0], autocommit=True) as c:
        c.execute("SELECT pg_advisory_lock(%s)", [LOCK])
        try:
            yield
        finally:
            c.execute("SELECT pg_advisory_unlock(%s)", [LOCK])


def test_a_read_behind_a_busy_writer_answers_at_once_with_the_lag(
    demo: Run, store_path: str, make: Any
) -> None:
    app = Chronicle(store_path)
    app.hand = attest.load_hand()
    app.append_fact(make.fact(id="late-verdict", when="2024-01-01"), "tester")
    app.close()
    with views_lock_held(store_path):
        started = time.monotonic()
        result = demo("timeline", "--format", "json")
        elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed < 5  # not the 30 s lock timeout
    assert json.loads(result.stdout)["lag"] == 1
    assert (
        "the views are 1 log position behind the events and another process "
        "is writing the store; answers leave out" in result.stderr
    )
    after = demo("timeline", "--format", "json")  # the lock is free again
    assert json.loads(after.stdout)["lag"] == 0


def test_a_read_whose_views_update_meets_a_full_disk_answers_with_the_lag(
    demo: Run, store_path: str, make: Any, monkeypatch: Any
) -> None:
    """The disk refuses the views' update (SQLite: "database or disk is
    full"): the read answers from the views as they stand, saying why."""
    app = Chronicle(store_path)
    app.hand = attest.load_hand()
    app.append_fact(make.fact(id="late-verdict", when="2024-01-01"), "tester")
    app.close()

    def full(*args: Any, **kwargs: Any) -> int:
        raise OperationalError("database or disk is full")

    monkeypatch.setattr(ViewStore, "catch_up", full)
    result = demo("timeline", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lag"] == 1
    assert (
        "the views are 1 log position behind the events and the store refused "
        "the views' update (database or disk is full)" in result.stderr
    )
