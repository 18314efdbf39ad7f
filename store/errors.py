"""What a failing database means, said for the person at the command line."""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import PersistenceError

from khronika.store import location as loc


def explain(error: Exception, location: str | None) -> str:
    """One line naming the problem with the store at `location`."""
    text = str(error)
    where = loc.describe(location) if location else "the store"
    if isinstance(error, sqlite3.DatabaseError | PersistenceError) and (
        "not a database" in text or "malformed" in text
    ):  # sqlite3's error, or eventsourcing's around it
        return (
            f"{where}: not a khronika store, or the store is damaged ({text}); "
            "`khronika verify` checks a store that still opens"
        )
    if location and loc.is_postgres(location) and "permission denied" in text:
        return (
            f"{where}: the store is read-only here ({text}); this role may "
            "only read it: writing needs a role that may write its tables"
        )
    if "readonly" in text or "read-only" in text:
        return (
            f"{where}: the store is read-only here ({text}); writing needs write "
            "access to the file and its directory"
        )
    if "unable to open" in text:
        return f"{where}: cannot open the store ({text})"
    if location and loc.is_postgres(location) and "couldn't get a connection" in text:
        return (
            f"{where}: no answer from the PostgreSQL server at "
            f"{loc.server(location)} within {loc.CONNECT_TIMEOUT} s; is it "
            "running, and are the host, port, user and password right?"
        )
    return f"{where}: the store failed: {text}"
