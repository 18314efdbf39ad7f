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

import bisect
import struct
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from khronika.domain.errors import StoreError
from khronika.domain.intent import tombstone_leaf
from khronika.store import merkle, tiletree

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


TILES_TABLE = "khronika_tiles"
OLD_TREE = (
    "this store's Merkle tree is kept as one row per node, as khronika kept it "
    "before tiles: run `khronika upgrade` to convert it (old checkpoints and "
    "proofs still verify after it)"
)
ROWS_TABLE = "khronika_merkle"  # the tree before tiles: one row per node
_POSITION = struct.Struct(">q")


def pack_positions(positions: Sequence[int]) -> bytes:
    """Leaves' event positions as a level-0 tile row keeps them: 8 bytes each."""
    return struct.pack(f">{len(positions)}q", *positions)


def unpack_positions(data: bytes) -> list[int]:
    """The positions a level-0 row keeps; [] for what is not a whole number
    of them (the row was altered)."""
    if len(data) % 8:
        return []
    return list(struct.unpack(f">{len(data) // 8}q", data))


class TreeStore:
    """The Merkle tree as tlog-tiles hash tiles, one row per tile
    (store/tiletree.py), in a table beside the events.

    A level-0 row also keeps the log position of each of its leaves' events
    (`positions`, 8 bytes each, and the first of them, indexed, to find a
    leaf by position), since PostgreSQL positions can have gaps. Shared by
    the SQLite and PostgreSQL recorders; they say how to spell a query
    (`_q`: its tables, and "{hashes}" and "{positions}", read as bytes or as
    none) and open a transaction (`_tx`). The tree grows in the transaction
    that inserts its events, under the writers' lock (store/sqlite.py,
    store/postgres.py), so the partial tiles are rewritten by one writer at
    a time.
    """

    # Set by Chronicle on a store whose tree is still one row per node: it is
    # neither read nor grown until `khronika upgrade` converts it.
    rows_format = False

    def _q(self, sql: str) -> Any:
        raise NotImplementedError

    def _tx(self, *, commit: bool) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _ready(self) -> None:
        if self.rows_format:
            raise StoreError(OLD_TREE)

    def _row(self, c: Any, level: int, index: int) -> tuple[bytes, bytes] | None:
        c.execute(
            self._q("SELECT {hashes} AS h, {positions} AS p FROM {tiles} "
                    "WHERE level = ? AND idx = ?"),
            [level, index],
        )  # fmt: skip
        row = c.fetchone()
        return None if row is None else (_blob(row["h"]), _blob(row["p"]))

    def _last(self, c: Any) -> tuple[int, bytes, bytes]:
        """The last level-0 tile: its index, hashes and positions."""
        c.execute(
            self._q("SELECT idx, {hashes} AS h, {positions} AS p FROM {tiles} "
                    "WHERE level = 0 ORDER BY idx DESC LIMIT 1")
        )  # fmt: skip
        row = c.fetchone()
        if row is None:
            return 0, b"", b""
        return int(row["idx"]), _blob(row["h"]), _blob(row["p"])

    def _grow_tree(
        self, c: Any, events: Sequence[StoredEvent], positions: Sequence[int]
    ) -> None:
        """Add the events' leaves after the current ones, in this transaction."""
        self._ready()
        self._grow(c, [leaf(e) for e in events], positions)

    def _grow(self, c: Any, leaves: Sequence[bytes], positions: Sequence[int]) -> None:
        if not leaves:
            return
        index, hashes, kept = self._last(c)
        size = index * tiletree.WIDTH + len(hashes) // merkle.HASH_SIZE

        def read(level: int, tile: int) -> bytes:
            if level == 0 and tile == index:
                return hashes
            row = self._row(c, level, tile)
            return b"" if row is None else row[0]

        writes = tiletree.grow(leaves, size, read)
        first, partial = divmod(size, tiletree.WIDTH)
        prefix = kept[: partial * 8] if partial else b""
        if len(prefix) != partial * 8:
            raise KeyError(f"tile 0/{first} keeps fewer than {partial} positions")
        at = prefix + pack_positions(positions)
        rows: list[tuple[int, int, bytes, int | None, bytes | None]] = []
        for level, tile, data in writes:
            if level == 0:
                offset = (tile - first) * tiletree.WIDTH * 8
                mine = at[offset : offset + len(data) // 4]
                rows.append((level, tile, data, _POSITION.unpack_from(mine)[0], mine))
            else:
                rows.append((level, tile, data, None, None))
        c.executemany(
            self._q("INSERT INTO {tiles} (level, idx, hashes, first_position, "
                    "positions) VALUES (?, ?, ?, ?, ?) ON CONFLICT (level, idx) "
                    "DO UPDATE SET hashes = excluded.hashes, first_position = "
                    "excluded.first_position, positions = excluded.positions"),
            rows,
        )  # fmt: skip

    def _size(self, c: Any) -> int:
        index, hashes, _ = self._last(c)
        return index * tiletree.WIDTH + len(hashes) // merkle.HASH_SIZE

    def tree_size(self) -> int:
        self._ready()
        with self._tx(commit=False) as c:
            return self._size(c)

    def tile(self, level: int, index: int) -> bytes:
        """A stored tile's hashes (b"" if there is none): tlog-tiles §Merkle
        Tree's encoding, so a served tile is these bytes, or their start."""
        self._ready()
        with self._tx(commit=False) as c:
            row = self._row(c, level, index)
            return b"" if row is None else row[0]

    def node(self, level: int, index: int) -> bytes:
        """A node of the stored tree (merkle.Getter); KeyError if absent."""
        return tiletree.node(level, index, self.tile)

    def leaves(self, start: int, stop: int) -> dict[int, tuple[bytes, int]]:
        """Stored leaves with index in [start, stop): hash and event position
        (b"" and -1 where the row holding them was altered)."""
        self._ready()
        found: dict[int, tuple[bytes, int]] = {}
        if stop <= start:
            return found
        width = tiletree.WIDTH
        with self._tx(commit=False) as c:
            c.execute(
                self._q("SELECT idx, {hashes} AS h, {positions} AS p FROM {tiles} "
                        "WHERE level = 0 AND idx >= ? AND idx <= ?"),
                [start // width, (stop - 1) // width],
            )  # fmt: skip
            rows = c.fetchall()
        for row in rows:
            base, data = int(row["idx"]) * width, _blob(row["h"])
            at = unpack_positions(_blob(row["p"]))
            count = len(data) // merkle.HASH_SIZE
            for i in range(max(start - base, 0), min(count, stop - base)):
                h = data[i * 32 : i * 32 + 32]
                found[base + i] = (h, at[i] if i < len(at) else -1)
        return found

    def leaf_index(self, position: int) -> int | None:
        """The leaf of the event at this log position."""
        self._ready()
        with self._tx(commit=False) as c:
            c.execute(
                self._q("SELECT idx, {positions} AS p FROM {tiles} WHERE level = 0 "
                        "AND first_position <= ? ORDER BY first_position DESC "
                        "LIMIT 1"),
                [position],
            )  # fmt: skip
            row = c.fetchone()
        if row is None:
            return None
        at = unpack_positions(_blob(row["p"]))
        i = bisect.bisect_left(at, position)
        if i == len(at) or at[i] != position:
            return None
        return int(row["idx"]) * tiletree.WIDTH + i

    def rebuild_tree(self, events: Iterable[Sequence[Notification]]) -> int:
        """Empty the tree and build it from `events` (pages, in log order)."""
        with self._tx(commit=True) as c:
            c.execute(self._q("DELETE FROM {tiles}"))
        count = 0
        for page in events:
            with self._tx(commit=True) as c:
                self._grow_tree(c, page, [n.id for n in page])
            count += len(page)
        return count

    # -- the tree stored before tiles: one row per node --------------------

    def drop_rows_tree(self) -> None:
        """Drop the tree of one row per node, if there is one."""
        with self._tx(commit=True) as c:
            c.execute(self._q("DROP TABLE IF EXISTS {merkle}"))

    def tiles_from_rows(
        self,
        tree_format: str,
        batch: int = 1 << 14,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Convert the tree of one row per node into tiles; resumable.

        The leaves (hash and position) are read `batch` at a time from the old
        table and appended to the tiles, each batch in its own transaction:
        a conversion stopped midway (killed, say) goes on from the tiles it
        committed. Memory holds one batch. Once every leaf is in, the root
        from the tiles must be the old tree's, byte for byte, before the old
        table is dropped and the store's meta says `tree_format`, in one
        transaction. Returns the number of leaves.
        """
        with self._tx(commit=False) as c:
            c.execute(self._q("SELECT MAX(idx) AS m FROM {merkle} WHERE level = 0"))
            top = c.fetchone()["m"]
            total = 0 if top is None else int(top) + 1
            done = self._size(c)
        if done > total:
            raise StoreError(
                f"the tiles hold {done} leaves but the old tree only {total}: "
                "the tiles are not a conversion of this tree"
            )
        while done < total:
            stop = min(done + batch, total)
            with self._tx(commit=True) as c:
                c.execute(
                    self._q("SELECT idx, hash AS h, position AS p FROM {merkle} "
                            "WHERE level = 0 AND idx >= ? AND idx < ? ORDER BY idx"),
                    [done, stop],
                )  # fmt: skip
                rows = c.fetchall()
                for i, row in enumerate(rows, start=done):
                    h, p = _blob(row["h"]), row["p"]
                    if int(row["idx"]) != i or len(h) != 32 or not isinstance(p, int):
                        raise StoreError(
                            f"leaf {i} of the old Merkle tree is missing or has no "
                            "hash or position: the tree was altered; `khronika "
                            "verify` with the version that made the store names it"
                        )
                if len(rows) != stop - done:
                    raise StoreError(f"leaf {done + len(rows)} of the old Merkle "
                                     "tree is missing: it was altered")  # fmt: skip
                self._grow(c, [_blob(r["h"]) for r in rows], [r["p"] for r in rows])
            done = stop
            if on_progress is not None:
                on_progress(done, total)
        with self._tx(commit=True) as c:
            tiles = tiletree.getter(lambda level, i: self._hashes(c, level, i))
            try:
                old = merkle.root(total, lambda lv, i: self._old_node(c, lv, i))
            except KeyError:
                old = b""
            if merkle.root(total, tiles) != old:
                raise StoreError(
                    "the tiles' root is not the old tree's: the old tree's inner "
                    "nodes were altered; `khronika verify` with the version that "
                    "made the store names them"
                )
            c.execute(self._q("DROP TABLE {merkle}"))
            c.execute(self._q("UPDATE {meta} SET value = ? WHERE key = 'tree'"),
                      [tree_format])  # fmt: skip
        self.rows_format = False
        return total

    def _hashes(self, c: Any, level: int, index: int) -> bytes:
        row = self._row(c, level, index)
        return b"" if row is None else row[0]

    def _old_node(self, c: Any, level: int, index: int) -> bytes:
        c.execute(
            self._q("SELECT hash AS h FROM {merkle} WHERE level = ? AND idx = ?"),
            [level, index],
        )
        row = c.fetchone()
        if row is None:
            raise KeyError((level, index))
        return _blob(row["h"])
