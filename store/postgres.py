"""The PostgreSQL adapter: eventsourcing's recorder with khronika's extra reads.

Writes stay eventsourcing's: one `INSERT ... SELECT FROM unnest(...)` per batch
under `LOCK TABLE ... IN EXCLUSIVE MODE`, so writers take notification ids one
transaction at a time and the log order is the commit order. Ids come from a
`bigserial` sequence: a batch that fails (a duplicate stream, say) writes no
rows but burns the sequence values it drew, so positions are increasing but
can have gaps. Readers must not assume contiguous positions.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from khronika.domain.errors import StoreError
from khronika.store import location as loc
from khronika.store.clock import Stamper
from khronika.store.copies import Hashed
from khronika.store.erasure import Erasing
from khronika.store.ledger import ROWS_TABLE, TILES_TABLE, TreeStore

CHUNK = 1000  # ids per `= ANY(%s)` array; one query per chunk
META_TABLE = "khronika_meta"
COPIES_TABLE = "khronika_copies"
# binary COPY's signature, flags and header extension (no OIDs, none)
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


class KhronikaPostgresRecorder(Erasing, TreeStore, PostgresApplicationRecorder):
    """The events table `<app>_events` and khronika's own tables, one schema."""

    POSITION = "notification_id"

    def _q(self, sql: str) -> str:
        """The tree's SQL (ledger.py) for psycopg: its tables named in full,
        each name quoted as an identifier (`location` refuses a `%`)."""
        schema = identifier(self.datastore.schema)
        sql = sql.replace("?", "%s")
        for name, table in (("tiles", TILES_TABLE), ("merkle", ROWS_TABLE),
                            ("meta", META_TABLE)):  # fmt: skip
            sql = sql.replace(f"{{{name}}}", f"{schema}.{identifier(table)}")
        return sql.replace("{hashes}", "hashes").replace("{positions}", "positions")

    def _tx(self, *, commit: bool) -> AbstractContextManager[Cursor[DictRow]]:
        return self.datastore.transaction(commit=commit)

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        stamper: Stamper | None = None,
        **kw: Any,
    ) -> None:
        """Stamp the events with record time under the table lock, then insert.

        eventsourcing's insert takes `LOCK TABLE ... IN EXCLUSIVE MODE` here;
        it is taken first so that the last record time read is the last in
        the log (locking again in the same transaction is a no-op).
        """
        if stamper is not None:
            self._lock_table(curs)
            curs.execute(
                SQL("SELECT state FROM {} ORDER BY notification_id DESC LIMIT 1")
                .format(self._table(self.events_table_name))
            )  # fmt: skip
            row = curs.fetchone()
            last = None if row is None else bytes(row["state"])
            stored_events = stamper.stamp(last, stored_events)
        super()._insert_stored_events(curs, stored_events, **kw)

    def _fetch_ids_after_insert_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        *,
        stamper: Stamper | None = None,
        **kw: Any,
    ) -> Sequence[int] | None:
        """The new positions; and the tree grows, under the same table lock."""
        if stamper is not None:  # the events as stamped and inserted
            stored_events = stamper.stamped
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kw)
        assert ids is not None
        self._grow_tree(curs, stored_events, ids)
        self._erase(curs, stored_events, ids, kw.get("erase"))  # a redaction's
        return ids

    def _table(self, name: str) -> Composed:
        return SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(name))

    def _id_param(self, originator_id: UUID) -> UUID | str:
        """The parameter for an originator_id column of the datastore's type."""
        if self.datastore.originator_id_type == "text":
            return str(originator_id)
        return originator_id

    def first_events(self, ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The version-1 event of each of the streams that exist."""
        found: dict[UUID, StoredEvent] = {}
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE originator_version = 1 AND originator_id = ANY(%s)"
        ).format(self._table(self.events_table_name))
        with self.datastore.transaction(commit=False) as c:
            for i in range(0, len(ids), CHUNK):
                chunk = [self._id_param(u) for u in ids[i : i + CHUNK]]
                c.execute(statement, [chunk])
                for row in c.fetchall():
                    event = _stored(row)
                    found[_uuid(row["originator_id"])] = event
        return found

    def stream_notifications(self, originator_id: UUID) -> list[Notification]:
        """A stream's events with their positions in the whole log."""
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state "
            "FROM {} WHERE originator_id = %s ORDER BY originator_version"
        ).format(self._table(self.events_table_name))
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [self._id_param(originator_id)])
            return [
                Notification(id=row["notification_id"], **_stored(row).__dict__)
                for row in c.fetchall()
            ]

    def create_table(self) -> None:
        if self.datastore.schema:  # a store in a schema of its own: ?schema=NAME
            with self.datastore.transaction(commit=True) as c:
                c.execute(
                    SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                        Identifier(self.datastore.schema)
                    )
                )
        super().create_table()
        self.create_meta_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute(  # the catalogue reads source and entity events by topic
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (topic)").format(
                    Identifier(f"{self.events_table_name}_topic"),
                    self._table(self.events_table_name),
                )
            )

    def create_meta_table(self) -> None:
        """khronika's own tables: identity, archived copies, the Merkle tree."""
        tables = {
            META_TABLE: "key TEXT PRIMARY KEY, value TEXT NOT NULL",
            COPIES_TABLE: "sha256 TEXT PRIMARY KEY, content BYTEA NOT NULL",
            # the Merkle tree as tlog-tiles hash tiles (store/ledger.py)
            TILES_TABLE: "level INTEGER, idx BIGINT, hashes BYTEA NOT NULL, "
            "first_position BIGINT, positions BYTEA, PRIMARY KEY (level, idx)",
        }
        with self.datastore.transaction(commit=True) as c:
            for name, columns in tables.items():
                c.execute(
                    SQL("CREATE TABLE IF NOT EXISTS {} ({})").format(
                        self._table(name),
                        SQL(columns),
                    )
                )
            c.execute(
                SQL("CREATE INDEX IF NOT EXISTS {} ON {} (first_position) "
                    "WHERE level = 0").format(
                    Identifier(f"{TILES_TABLE}_position"), self._table(TILES_TABLE)
                )
            )  # fmt: skip

    def put_copy(self, sha256: str, content: bytes) -> bool:
        """Store an archived copy under its hash; False if it was there."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                SQL(
                    "INSERT INTO {} (sha256, content) VALUES (%s, %s) "
                    "ON CONFLICT (sha256) DO NOTHING"
                ).format(self._table(COPIES_TABLE)),
                [sha256, content],
            )
            return c.rowcount == 1

    def get_copy(self, sha256: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL("SELECT content FROM {} WHERE sha256 = %s").format(
                    self._table(COPIES_TABLE)
                ),
                [sha256],
            )
            row = c.fetchone()
            return None if row is None else bytes(row["content"])

    def copies(self) -> Iterator[tuple[str, bytes]]:
        """Every stored copy with the hash it is stored under, by hash."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(  # byte order, as SQLite sorts, whatever the collation
                SQL('SELECT sha256 FROM {} ORDER BY sha256 COLLATE "C"').format(
                    self._table(COPIES_TABLE)
                )
            )
            hashes = [row["sha256"] for row in c.fetchall()]
        for sha256 in hashes:  # one copy in memory at a time
            content = self.get_copy(sha256)
            if content is not None:
                yield sha256, content

    def store_copy(self, copy: Hashed) -> bool:
        """Stream an archived copy in under its hash; False if it was there.
        Its row is sent by one binary COPY, a chunk at a time; an advisory
        lock on the hash keeps two writers of one copy apart."""
        table = self._table(COPIES_TABLE)
        key = copy.sha256.encode()
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [copy.sha256])
            c.execute(
                SQL("SELECT 1 FROM {} WHERE sha256 = %s").format(table), [copy.sha256]
            )
            if c.fetchone() is not None:
                return False
            statement = SQL("COPY {} (sha256, content) FROM STDIN (FORMAT BINARY)")
            with c.copy(statement.format(table)) as stream:
                stream.write(COPY_HEADER + struct.pack(">hi", 2, len(key)) + key)
                stream.write(struct.pack(">i", copy.size))
                for chunk in copy:
                    stream.write(chunk)
                stream.write(struct.pack(">h", -1))
            return True

    def copy_size(self, sha256: str) -> int | None:
        """The stored copy's size in bytes; None if there is none."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL("SELECT octet_length(content) AS n FROM {} WHERE sha256 = %s")
                .format(self._table(COPIES_TABLE)),
                [sha256],
            )  # fmt: skip
            row = c.fetchone()
            return None if row is None else int(row["n"])

    def read_copy_chunk(self, sha256: str, offset: int, size: int) -> bytes:
        """`size` bytes of the stored copy from `offset`."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL("SELECT substring(content FROM %s FOR %s) AS part FROM {} "
                    "WHERE sha256 = %s").format(self._table(COPIES_TABLE)),
                [offset + 1, size, sha256],
            )  # fmt: skip
            row = c.fetchone()
            return b"" if row is None else bytes(row["part"])

    def copy_hashes(self) -> list[str]:
        """The hash of every stored copy, in byte order (as SQLite sorts)."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                SQL('SELECT sha256 FROM {} ORDER BY sha256 COLLATE "C"').format(
                    self._table(COPIES_TABLE)
                )
            )
            return [row["sha256"] for row in c.fetchall()]

    def read_meta(self) -> dict[str, str] | None:
        """The store's identity and format; None where it is no khronika store."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT 1 FROM pg_catalog.pg_tables "
                "WHERE schemaname = %s AND tablename = %s",
                [self.datastore.schema, META_TABLE],
            )
            if c.fetchone() is None:
                return None
            c.execute(SQL("SELECT key, value FROM {}").format(self._table(META_TABLE)))
            return {row["key"]: row["value"] for row in c.fetchall()}

    def write_meta(self, values: dict[str, str], *, replace: bool = False) -> None:
        """Sets keys that are not set yet; a set value is changed only with
        `replace` (the latest checkpoint, say; never the store's identity)."""
        if not values:
            return
        on_conflict = (
            "DO UPDATE SET value = EXCLUDED.value" if replace else "DO NOTHING"
        )
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                SQL(
                    "INSERT INTO {} (key, value) VALUES (%s, %s) "
                    f"ON CONFLICT (key) {on_conflict}"
                ).format(self._table(META_TABLE)),
                list(values.items()),
            )

    def drop_meta(self, key: str) -> None:
        """Remove one key (the mark of an unfinished migration, say)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                SQL("DELETE FROM {} WHERE key = %s").format(self._table(META_TABLE)),
                [key],
            )


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _stored(row: dict[str, Any]) -> StoredEvent:
    return StoredEvent(
        originator_id=_uuid(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=bytes(row["state"]),
    )


def identifier(name: str) -> str:
    """`name` quoted as a PostgreSQL identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def probe(location: str, env: dict[str, str]) -> None:
    """Connect once, and say at once what the server said if it refuses.

    eventsourcing's connection pool retries a refused connection until its
    timeout and then says only that it got none: a wrong password, an
    unknown database and a role that may not log in would all read as a
    server that does not answer.
    """
    server = f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
    try:
        psycopg.connect(
            dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"],
            port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
            password=env["POSTGRES_PASSWORD"],
            connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        ).close()  # fmt: skip
    except psycopg.OperationalError as e:
        raise StoreError(f"{loc.describe(location)}: {_said(str(e), server)}") from None


def _said(text: str, server: str) -> str:
    """libpq's message for a failed connection, as one line for a person."""
    if "FATAL:" in text:
        said = " ".join(text.split("FATAL:", 1)[1].split())
        return f"the PostgreSQL server at {server} refused the connection: {said}"
    if "timeout expired" in text:
        return (
            f"no answer from the PostgreSQL server at {server} within "
            f"{loc.CONNECT_TIMEOUT} s; is it running, and are the host and port right?"
        )
    if "Connection refused" in text:
        return (
            f"nothing listens at {server} (connection refused); is the PostgreSQL "
            "server running, and are the host and port right?"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()] or [text]
    return f"cannot connect to the PostgreSQL server at {server}: {lines[-1]}"
