"""After a redaction: the erased bytes gone from the database's files.

A rewritten row leaves its old bytes behind: in SQLite's freed page space,
its free pages and its write-ahead log; in PostgreSQL's dead tuple versions.
`scrub` rewrites the files without them. The views are rebuilt by the caller
first (they are read models, cli/redact.py), so that their old rows go too.

- SQLite: `secure_delete` (freed space is zeroed), `VACUUM` (the file is
  rebuilt, with no free pages), then `wal_checkpoint(TRUNCATE)` (the log is
  copied into the file and emptied).
- PostgreSQL: `VACUUM FULL` of the events table and of every view table (each
  is written to a new file; the old one is removed), then `CHECKPOINT`. Its
  write-ahead log (pg_wal, and any WAL archive or backup) keeps the old pages
  until it is recycled: README, "Redaction".
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from typing import Any

from khronika.domain.errors import StoreError
from khronika.store import location as loc
from khronika.store.app import Chronicle


def scrub(app: Chronicle) -> None:
    """Rewrite the store's files without the bytes of erased values."""
    if loc.is_postgres(app.location):
        _postgres(app)
    elif loc.is_sqlite(app.location):
        _sqlite(str(loc.sqlite_file(app.location)))


def _sqlite(path: str) -> None:
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30)) as db:
        db.execute("PRAGMA secure_delete = ON")
        db.execute("VACUUM")
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    if busy:
        raise StoreError(
            f"{path}-wal still holds the erased bytes: another process is "
            "reading the store (khronika serve?); stop it, then run "
            f"`sqlite3 {path} 'PRAGMA wal_checkpoint(TRUNCATE)'`"
        )


def _postgres(app: Chronicle) -> None:
    import psycopg
    from psycopg import sql

    datastore: Any = app.store.datastore  # eventsourcing's PostgresDatastore
    keywords = {k: v for k, v in datastore.pool.kwargs.items()
                if isinstance(v, str | int)}  # fmt: skip
    schema = datastore.schema
    with psycopg.connect(**keywords, autocommit=True) as db:  # type: ignore[arg-type]
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = %s "
                "AND (tablename = %s OR tablename LIKE 'view\\_%%')",
                [schema, app.store.events_table_name],
            )
        ]
        for table in tables:
            db.execute(
                sql.SQL("VACUUM FULL {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            )
        try:  # PostgreSQL 15+ lets a pg_checkpoint member, or a superuser
            db.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass  # the server's next checkpoint does it
