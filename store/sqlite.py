"""The SQLite adapter: eventsourcing's recorder with a bulk insert path."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from khronika.store.clock import Stamper
from khronika.store.copies import Hashed
from khronika.store.erasure import Erasing
from khronika.store.ledger import ROWS_TABLE, TILES_TABLE, TreeStore

CHUNK = 500  # ids per IN (...) query, below SQLite's variable limit
META_TABLE = "khronika_meta"
COPIES_TABLE = "khronika_copies"
KHRONIKA_TABLES = (
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} "
    "(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {COPIES_TABLE} "
    "(sha256 TEXT PRIMARY KEY, content BLOB NOT NULL)",
    # the Merkle tree as tlog-tiles hash tiles (store/ledger.py, tiletree.py)
    f"CREATE TABLE IF NOT EXISTS {TILES_TABLE} (level INTEGER, idx INTEGER, "
    "hashes BLOB NOT NULL, first_position INTEGER, positions BLOB, "
    "PRIMARY KEY (level, idx))",
    f"CREATE INDEX IF NOT EXISTS {TILES_TABLE}_position ON {TILES_TABLE} "
    "(first_position) WHERE level = 0",
    # the catalogue reads source and entity events by topic
    "CREATE INDEX IF NOT EXISTS stored_events_topic ON stored_events (topic)",
)


class KhronikaSQLiteRecorder(Erasing, TreeStore, SQLiteApplicationRecorder):
    """Inserts a batch with one executemany, in one transaction.

    Rowids of one insert in one write transaction are consecutive, so the
    notification ids are the last rowid and the ones before it.
    """

    POSITION = "rowid"

    def _insert_events(
        self,
        c: SQLiteCursor,
        stored_events: Sequence[StoredEvent],
        *,
        stamper: Stamper | None = None,
        **kw: Any,
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        if stamper is not None:
            # eventsourcing opens the transaction with a deferred BEGIN, which
            # takes no lock. Take the write lock now (waiting for any other
            # writer to commit), so that the last record time read next is
            # the last in the log and no other writer can add one after it.
            c.execute(f"UPDATE {META_TABLE} SET value = value WHERE 0")
            c.execute(
                f"SELECT state FROM {self.events_table_name} "
                "ORDER BY rowid DESC LIMIT 1"
            )
            row = c.fetchone()
            stored_events = stamper.stamp(
                None if row is None else bytes(row[0]), stored_events
            )
        c.executemany(
            self.insert_events_statement,
            [
                (s.originator_id.hex, s.originator_version, s.topic, s.state)  # type: ignore[union-attr]
                for s in stored_events
            ],
        )
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        positions = list(range(last - len(stored_events) + 1, last + 1))
        self._grow_tree(c, stored_events, positions)
        self._erase(c, stored_events, positions, kw.get("erase"))  # a redaction's
        return positions

    def _q(self, sql: str) -> str:
        for name, table in (("tiles", TILES_TABLE), ("merkle", ROWS_TABLE),
                            ("meta", META_TABLE)):  # fmt: skip
            sql = sql.replace(f"{{{name}}}", table)
        for column in ("hashes", "positions"):  # bytes, or none: text edited
            blob = f"CASE WHEN typeof({column}) = 'blob' THEN {column} END"
            sql = sql.replace(f"{{{column}}}", blob)  # in would not even decode
        return sql

    def _tx(self, *, commit: bool) -> AbstractContextManager[SQLiteCursor]:
        return self.datastore.transaction(commit=commit)

    def first_events(self, ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The version-1 event of each of the streams that exist."""
        found: dict[UUID, StoredEvent] = {}
        with self.datastore.transaction(commit=False) as c:
            for i in range(0, len(ids), CHUNK):
                chunk = [u.hex for u in ids[i : i + CHUNK]]
                c.execute(
                    f"SELECT * FROM {self.events_table_name} WHERE originator_version=1"
                    f" AND originator_id IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                for row in c.fetchall():
                    event = _stored(row)
                    found[event.originator_id] = event  # type: ignore[index]
        return found

    def stream_notifications(self, originator_id: UUID) -> list[Notification]:
        """A stream's events with their positions in the whole log."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, * FROM {self.events_table_name} "
                "WHERE originator_id=? ORDER BY originator_version",
                [originator_id.hex],
            )
            return [
                Notification(id=row["rowid"], **_stored(row).__dict__)
                for row in c.fetchall()
            ]

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *KHRONIKA_TABLES]

    def create_meta_table(self) -> None:
        """khronika's own tables: identity, archived copies, the Merkle tree."""
        with self.datastore.transaction(commit=True) as c:
            for statement in KHRONIKA_TABLES:
                c.execute(statement)

    def put_copy(self, sha256: str, content: bytes) -> bool:
        """Store an archived copy under its hash; False if it was there."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(
                f"INSERT OR IGNORE INTO {COPIES_TABLE} VALUES (?, ?)", [sha256, content]
            )
            c.execute("SELECT changes()")
            return bool(c.fetchone()[0])

    def get_copy(self, sha256: str) -> bytes | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT content FROM {COPIES_TABLE} WHERE sha256 = ?", [sha256])
            row = c.fetchone()
            return None if row is None else bytes(row[0])

    def store_copy(self, copy: Hashed) -> bool:
        """Stream an archived copy in under its hash; False if it was there.
        A blob of its size is written a chunk at a time (incremental I/O)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"SELECT 1 FROM {COPIES_TABLE} WHERE sha256 = ?", [copy.sha256])
            if c.fetchone() is not None:
                return False
            c.execute(
                f"INSERT INTO {COPIES_TABLE} VALUES (?, zeroblob(?))",
                [copy.sha256, copy.size],
            )
            db = c.sqlite_cursor.connection
            with db.blobopen(COPIES_TABLE, "content", c.lastrowid) as blob:
                for chunk in copy:
                    blob.write(chunk)
            return True

    def copy_size(self, sha256: str) -> int | None:
        """The stored copy's size in bytes; None if there is none."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT length(content) FROM {COPIES_TABLE} WHERE sha256 = ?",
                [sha256],
            )
            row = c.fetchone()
            return None if row is None else int(row[0])

    def read_copy_chunk(self, sha256: str, offset: int, size: int) -> bytes:
        """`size` bytes of the stored copy from `offset`, read from its blob."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid FROM {COPIES_TABLE} WHERE sha256 = ?", [sha256])
            row = c.fetchone()
            if row is None:
                return b""
            db = c.sqlite_cursor.connection
            with db.blobopen(COPIES_TABLE, "content", row[0], readonly=True) as blob:
                blob.seek(offset)
                return blob.read(size)

    def copy_hashes(self) -> list[str]:
        """The hash of every stored copy, in byte order."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT sha256 FROM {COPIES_TABLE} ORDER BY sha256")
            return [row[0] for row in c.fetchall()]

    def copies(self) -> Iterator[tuple[str, bytes]]:
        """Every stored copy with the hash it is stored under."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT sha256 FROM {COPIES_TABLE} ORDER BY sha256")
            hashes = [row[0] for row in c.fetchall()]
        for sha256 in hashes:
            content = self.get_copy(sha256)
            if content is not None:
                yield sha256, content

    def read_meta(self) -> dict[str, str] | None:
        """The store's identity and format; None where it is no khronika store."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name=?",
                [META_TABLE],
            )
            if c.fetchone() is None:
                return None
            c.execute(f"SELECT key, value FROM {META_TABLE}")
            return {row["key"]: row["value"] for row in c.fetchall()}

    def write_meta(self, values: dict[str, str], *, replace: bool = False) -> None:
        """Sets keys that are not set yet; a set value is changed only with
        `replace` (the latest checkpoint, say; never the store's identity)."""
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        with self.datastore.transaction(commit=True) as c:
            c.executemany(
                f"{verb} INTO {META_TABLE} (key, value) VALUES (?, ?)",
                list(values.items()),
            )

    def drop_meta(self, key: str) -> None:
        """Remove one key (the mark of an unfinished migration, say)."""
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"DELETE FROM {META_TABLE} WHERE key = ?", [key])


def _stored(row: Any) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(row["originator_id"]),
        originator_version=row["originator_version"],
        topic=row["topic"],
        state=row["state"],
    )
