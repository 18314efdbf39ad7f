"""The tamper-evident log: every stored event is a leaf of a Merkle tree.

A leaf is SHA-256(0x00 || canonical bytes) of one stored event, in log order;
the canonical bytes frame the topic, the stream id, the version and the
covered state so that no two events can share them. The covered state is
the whole state of an event stored before signing, and the envelope of a
signed one (its state up to the first newline; domain/intent.py). An event
stored before signing and then erased whole by a redaction keeps its leaf
hash in its tombstone (`leaf_of`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from khronika.domain.intent import tombstone_leaf
from khronika.store import merkle

MAGIC = b"khronika-event/1\n"


def covered(state: bytes) -> bytes:
    """What a leaf covers of a stored state (compact JSON has no raw newline)."""
    return state.partition(b"\n")[0]


def canonical(topic: str, originator_id: UUID, version: int, state: bytes) -> bytes:
    """Length-framed: topic, 16-byte stream id, 8-byte version, covered state."""
    state = covered(state)
    name = topic.encode()
    return b"".join((
        MAGIC, struct.pack(">I", len(name)), name, originator_id.bytes,
        struct.pack(">Q", version), struct.pack(">Q", len(state)), state,
    ))  # fmt: skip


def leaf_of(topic: str, originator_id: UUID, version: int, state: bytes) -> bytes:
    """A stored event's leaf hash; a redacted tombstone keeps its own."""
    kept = tombstone_leaf(state)
    if kept is not None:
        return kept
    return merkle.leaf_hash(canonical(topic, originator_id, version, state))


def leaf(event: StoredEvent) -> bytes:
    originator_id = event.originator_id
    if not isinstance(originator_id, UUID):
        originator_id = UUID(originator_id)
    return leaf_of(event.topic, originator_id, event.originator_version, event.state)


def _blob(value: Any) -> bytes:
    """A stored hash as bytes; b"" for what is none (NULL, or text edited in)."""
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else b""


class TreeStore:
    """The Merkle tree's nodes in a table beside the events.

    Shared by the SQLite and PostgreSQL recorders; they say how to spell a
    query (`_q`) and open a transaction (`_tx`). Leaves also record the log
    position of their event, since PostgreSQL positions can have gaps.
    """

    def _q(self, sql: str) -> Any:
        raise NotImplementedError

    def _tx(self, *, commit: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _grow_tree(
        self, c: Any, events: Sequence[StoredEvent], positions: Sequence[int]
    ) -> None:
        """Add the events' leaves after the current ones, in this transaction."""
        size = self._size(c)

        def get(level: int, index: int) -> bytes:
            c.execute(
                self._q("SELECT hash AS h FROM {merkle} WHERE level = ? AND idx = ?"),
                [level, index],
            )
            row = c.fetchone()
            if row is None:
                raise KeyError((level, index))
            return _blob(row["h"])

        nodes = merkle.append([leaf(e) for e in events], size, get)
        c.executemany(
            self._q("INSERT INTO {merkle} (level, idx, hash, position) "
                    "VALUES (?, ?, ?, ?)"),
            [(level, index, h, positions[index - size] if level == 0 else None)
             for level, index, h in nodes],
        )  # fmt: skip

    def _size(self, c: Any) -> int:
        c.execute(self._q("SELECT MAX(idx) AS m FROM {merkle} WHERE level = 0"))
        top = c.fetchone()["m"]
        return 0 if top is None else int(top) + 1

    def tree_size(self) -> int:
        with self._tx(commit=False) as c:
            return self._size(c)

    def node(self, level: int, index: int) -> bytes:
        """A stored Merkle node; KeyError if absent."""
        found = self.nodes(level, index, index + 1)
        if index not in found:
            raise KeyError((level, index))
        return found[index]

    def nodes(self, level: int, start: int, stop: int) -> dict[int, bytes]:
        """Stored nodes of one level with index in [start, stop)."""
        with self._tx(commit=False) as c:
            c.execute(
                self._q("SELECT idx, hash AS h FROM {merkle} "
                        "WHERE level = ? AND idx >= ? AND idx < ?"),
                [level, start, stop],
            )  # fmt: skip
            return {int(r["idx"]): _blob(r["h"]) for r in c.fetchall()}

    def leaves(self, start: int, stop: int) -> dict[int, tuple[bytes, int]]:
        """Stored leaves with index in [start, stop): hash and event position."""
        with self._tx(commit=False) as c:
            c.execute(
                self._q("SELECT idx, hash AS h, position AS p FROM {merkle} "
                        "WHERE level = 0 AND idx >= ? AND idx < ?"),
                [start, stop],
            )  # fmt: skip
            rows = c.fetchall()
        return {
            int(r["idx"]): (_blob(r["h"]), r["p"] if isinstance(r["p"], int) else -1)
            for r in rows
        }

    def leaf_index(self, position: int) -> int | None:
        """The leaf of the event at this log position."""
        with self._tx(commit=False) as c:
            c.execute(
                self._q("SELECT idx FROM {merkle} WHERE level = 0 AND position = ?"),
                [position],
            )
            row = c.fetchone()
            return None if row is None else int(row["idx"])

    def rebuild_tree(self, events: Iterable[Sequence[Notification]]) -> int:
        """Empty the tree and build it from `events` (pages, in log order)."""
        with self._tx(commit=True) as c:
            c.execute(self._q("DELETE FROM {merkle}"))
        count = 0
        for page in events:
            with self._tx(commit=True) as c:
                self._grow_tree(c, page, [n.id for n in page])
            count += len(page)
        return count
