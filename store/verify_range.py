"""Checking one range of leaves of the log against the stored Merkle tree.

`verify` splits the tree's leaves into ranges of a power-of-two size and
checks each range here, in its own process or in a worker process started
as `python -m khronika.store.verify_range`, which reads tasks on stdin and
writes outcomes on stdout (msgpack frames, each after its 4-byte length).
A worker imports no more than this module needs, so it starts in a blink.

A range is read with one ordered cursor over the events, a block of leaves
at a time: the canonical bytes of each event are built from the raw columns
(no library objects) and hashed, and each inner node of the block is
hashed once. The tree is stored as tlog-tiles hash tiles (store/tiletree.py):
the block's level-0 tiles are read at once, and their hashes and positions
compared with the recomputed ones, joined; so are the nodes the tiles of the
levels above store (levels 8, 16, ...). Only when a block does not match is
it walked event by event, to name the first broken one as `verify` always
has; above the block, the stored nodes are checked as blocks complete them.

Findings are ordered by leaf: at each leaf, the leaf itself is checked,
then the inner nodes it completes, lowest level first. (One pass checked a
page's leaves before its nodes; for one alteration the finding is the
same.) A range reports its first finding; the range before it checks the
range's first leaf too, so the first range with a finding names the first
finding of the whole log.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import IO, Any, Protocol
from uuid import UUID

import msgspec

from khronika.store.merkle import HASH_SIZE
from khronika.store.tiletree import FULL, HEIGHT, WIDTH, width

BLOCK = 1024  # leaves hashed and compared at a time: a perfect subtree
Row = tuple[int, Any, Any, Any, Any]  # position, stream id, version, topic, state
Leaf = tuple[int, bytes, int]  # index, hash, position
Node = tuple[int, int, bytes]  # level, index, hash
StoredTile = tuple[int, bytes, bytes]  # index, hashes, positions (level 0)

_LENGTHS = struct.Struct(">QQ").pack  # version, then the state's length
_sha256 = hashlib.sha256


class Finding(msgspec.Struct, frozen=True):
    """The first thing that does not hold, and the event it is about."""

    message: str
    position: int | None = None
    stream: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.position is None:
            return self.message
        where = f"event at position {self.position}"
        if self.stream is not None:
            where += f" ({self.stream} v{self.version})"
        return f"{where}: {self.message}"


class Source(msgspec.Struct, frozen=True):
    """Where a worker reads: a read-only SQLite URI, or PostgreSQL keywords."""

    events: str  # the events table
    tiles: str  # the tree's table: tlog-tiles hash tiles (store/tiletree.py)
    # 0x00 and ledger.MAGIC: what every leaf hashes first, given by `verify`
    # so that a worker need not import the ledger (and eventsourcing)
    prefix: bytes
    sqlite: str = ""
    postgres: dict[str, str | int] = {}
    schema: str = ""
    text_ids: bool = False  # PostgreSQL stream ids stored as text


class Task(msgspec.Struct, frozen=True, array_like=True):
    """Check leaves [start, stop) of a tree of `size` leaves, `block` at a time.

    `start` is a multiple of `stop - start` unless the range is the last.
    """

    start: int
    stop: int
    size: int
    block: int


class Outcome(msgspec.Struct, frozen=True, array_like=True):
    """What a range found, and the perfect subtrees it ends in (level, hash)."""

    start: int
    checked: int  # leaves found to hold, from start
    roots: list[tuple[int, bytes]]
    finding: Finding | None = None
    error: str | None = None  # the worker failed; what it said


class Reader(Protocol):
    """The reads a range needs, in one snapshot of the store."""

    source: Source

    def snapshot(self) -> Any: ...

    def events(self, after: int | None, limit: int) -> Callable[[int], list[Row]]:
        """The next events from position `after` on: fetch(n) gives n or fewer."""
        ...

    def tiles(self, level: int, first: int, last: int) -> list[StoredTile]:
        """Stored tiles of one level with index in [first, last], by index:
        (index, hashes, positions), b"" for a column that holds no bytes."""
        ...

    stream_id: Callable[[Any], bytes]  # 16 bytes; ValueError if it is no id

    def ids_ok(self, rows: Sequence[Row]) -> bool:
        """Whether `stream_id` read these rows' stream ids as the library does."""
        ...

    def close(self) -> None: ...


class SQLiteReader:
    """A direct read-only sqlite3 connection; the library's is not involved."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.db = sqlite3.connect(
            source.sqlite, uri=True, isolation_level=None, check_same_thread=False
        )
        self.select_events = (
            f"SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {source.events} WHERE rowid >= ? ORDER BY rowid LIMIT ?"
        )
        # what ledger._blob reads as bytes
        self.select_tiles = (
            "SELECT idx, CASE WHEN typeof(hashes) = 'blob' THEN hashes ELSE x'' END, "
            "CASE WHEN typeof(positions) = 'blob' THEN positions ELSE x'' END "
            f"FROM {source.tiles} WHERE level = ? AND idx >= ? AND idx <= ? "
            "ORDER BY idx"
        )
        self.stream_id: Callable[[Any], bytes] = bytes.fromhex

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("ROLLBACK")

    def events(self, after: int | None, limit: int) -> Callable[[int], list[Row]]:
        start = -(2**63) if after is None else after
        return self.db.execute(self.select_events, (start, limit)).fetchmany

    def tiles(self, level: int, first: int, last: int) -> list[StoredTile]:
        return self.db.execute(self.select_tiles, (level, first, last)).fetchall()

    def ids_ok(self, rows: Sequence[Row]) -> bool:
        # 16 bytes from bytes.fromhex are 32 hex digits; 32 characters in
        # all leave no room for the spaces it skips and UUID() refuses
        return sum(map(len, map(itemgetter(1), rows))) == 32 * len(rows)

    def close(self) -> None:
        self.db.close()


class PostgresReader:
    """One psycopg connection: a server-side cursor over the events."""

    def __init__(self, source: Source) -> None:
        import psycopg
        from psycopg import sql

        self.source = source
        self.connection = psycopg.connect(**source.postgres)  # type: ignore[arg-type]
        self.connection.read_only = True  # a read never writes
        self.connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

        def table(name: str) -> sql.Composed:
            return sql.SQL("{}.{}").format(
                sql.Identifier(source.schema), sql.Identifier(name)
            )

        events, tiles = table(source.events), table(source.tiles)
        self.select_events = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, "
            "state FROM {} WHERE notification_id >= %s ORDER BY notification_id "
            "LIMIT %s"
        ).format(events)
        self.select_tiles = sql.SQL(
            "SELECT idx, COALESCE(hashes, ''::bytea), COALESCE(positions, ''::bytea) "
            "FROM {} WHERE level = %s AND idx >= %s AND idx <= %s ORDER BY idx"
        ).format(tiles)
        self.stream_id: Callable[[Any], bytes] = (
            _stream_id if source.text_ids else attrgetter("bytes")
        )
        self.cursors: list[Any] = []

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        with self.connection.transaction(force_rollback=True):
            try:
                yield
            finally:
                while self.cursors:
                    self.cursors.pop().close()

    def events(self, after: int | None, limit: int) -> Callable[[int], list[Row]]:
        cursor = self.connection.cursor(name="khronika_verify", binary=True)
        self.cursors.append(cursor)
        cursor.execute(self.select_events, (-(2**63) if after is None else after,
                                            limit))  # fmt: skip
        return cursor.fetchmany

    def tiles(self, level: int, first: int, last: int) -> list[StoredTile]:
        rows = self.connection.execute(
            self.select_tiles, (level, first, last), binary=True
        )
        return rows.fetchall()

    def ids_ok(self, rows: Sequence[Row]) -> bool:
        return True  # stream_id parsed each one, or raised

    def close(self) -> None:
        self.connection.close()


def open_reader(source: Source) -> Reader:
    if source.sqlite:
        return SQLiteReader(source)
    return PostgresReader(source)


class Tree:
    """The stored tiles of a tree of `size` leaves, read in one snapshot.

    Each tile is checked against the width tlog-tiles §Partial Tiles gives it
    at this size (a full tile 256 hashes, the right edge floor(s / 256**l)
    mod 256), and a level-0 tile keeps as many positions as hashes.
    """

    def __init__(self, reader: Reader, size: int) -> None:
        self.reader, self.size = reader, size
        self.kept: dict[tuple[int, int], bytes | str] = {}  # or what is wrong

    def _shaped(self, level: int, tile: StoredTile) -> bool:
        """Whether a tile has the width the tree's size gives it. A partial
        tile may hold more: a writer may have appended since the size was
        read, and what it holds beyond is checked when the log is verified
        at its new size, as leaves of it."""
        expected, length = HASH_SIZE * width(level, tile[0], self.size), len(tile[1])
        if expected == FULL:
            good = length == FULL
        else:
            good = expected <= length <= FULL and length % HASH_SIZE == 0
        return good and (level > 0 or len(tile[2]) * 4 == length)

    def level0(self, start: int, stop: int) -> tuple[list[Leaf], dict[int, str]]:
        """Leaves [start, stop) of the well-formed tiles, and, by the index of
        its first leaf, what is wrong with each tile that is not."""
        first, last = start // WIDTH, (stop - 1) // WIDTH
        found = {t[0]: t for t in self.reader.tiles(0, first, last)}
        leaves: list[Leaf] = []
        wrong: dict[int, str] = {}
        for n in range(first, last + 1):
            tile = found.get(n)
            if tile is None and not width(0, n, self.size):
                continue  # beyond the tree
            if tile is None or not self._shaped(0, tile):
                wrong[n * WIDTH] = _tile_problem(0, n, self.size, tile)
                continue
            _, hashes, kept = tile
            at = struct.unpack(f">{len(kept) // 8}q", kept)
            for i in range(max(start - n * WIDTH, 0), min(len(at), stop - n * WIDTH)):
                leaves.append((n * WIDTH + i, hashes[32 * i : 32 * i + 32], at[i]))
        return leaves, wrong

    def joined(self, start: int, stop: int) -> tuple[bytes, bytes] | None:
        """Leaves [start, stop) at once: their hashes and positions joined,
        or None if a tile over them is missing or of the wrong shape."""
        first, last = start // WIDTH, (stop - 1) // WIDTH
        tiles = self.reader.tiles(0, first, last)
        if len(tiles) != last - first + 1 or tiles[0][0] != first:
            return None  # indexes are unique: none is missing
        if not all(self._shaped(0, tile) for tile in tiles):
            return None
        if stop > first * WIDTH + sum(len(t[1]) for t in tiles) // HASH_SIZE:
            return None  # leaves beyond the tree's
        skip, count = start - first * WIDTH, stop - start
        hashes = b"".join(t[1] for t in tiles)[32 * skip : 32 * (skip + count)]
        kept = b"".join(t[2] for t in tiles)[8 * skip : 8 * (skip + count)]
        return hashes, kept

    def check(self, level: int, index: int, h: bytes) -> Finding | None:
        """Whether node (level, index), of a level that is a multiple of 8
        above 0, is stored as `h`: a hash of a tile at level / 8."""
        tile, offset = divmod(index, WIDTH)
        key = (level // HEIGHT, tile)
        if key not in self.kept:
            rows = self.reader.tiles(key[0], tile, tile)
            if rows and self._shaped(key[0], rows[0]):
                self.kept[key] = rows[0][1]
            else:
                problem = _tile_problem(key[0], tile, self.size,
                                        rows[0] if rows else None)  # fmt: skip
                self.kept[key] = problem
        data = self.kept[key]
        if isinstance(data, str):
            return Finding(data)
        if data[32 * offset : 32 * offset + 32] != h:
            return altered(level, index)
        return None


def _tile_problem(level: int, index: int, size: int, tile: StoredTile | None) -> str:
    if tile is None:
        return (f"the stored tile {level}/{index} is missing: the stored Merkle "
                "tree was altered")  # fmt: skip
    hashes = width(level, index, size)
    kept = f" and {len(tile[2])} of positions" if level == 0 else ""
    return (f"the stored tile {level}/{index} holds {len(tile[1])} bytes of hashes"
            f"{kept}, where a tree of {size} leaves has {hashes} hashes there, "
            f"{32 * hashes} bytes: the stored Merkle tree was altered")  # fmt: skip


class _Heads(dict[Any, bytes]):
    """Topic -> the leaf's bytes before the stream id: 0x00, magic, topic."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix

    def __missing__(self, topic: Any) -> bytes:
        if not isinstance(topic, str):
            raise TypeError("a topic that is no text")
        name = topic.encode()
        head = self.prefix + struct.pack(">I", len(name)) + name
        self[topic] = head
        return head


def _stream_id(raw: Any) -> bytes:
    """A stream id as the library reads it: a UUID, or text UUID() accepts."""
    return raw.bytes if isinstance(raw, UUID) else UUID(raw).bytes


def _leaf(row: Row) -> bytes | None:
    """The leaf hash of one stored event, or None for columns beyond hashing."""
    _, raw_id, version, topic, state = row
    if not (isinstance(topic, str) and isinstance(state, bytes)):
        return None
    if not isinstance(version, int) or not 0 <= version < 2**64:
        return None
    try:
        stream = UUID(bytes=_stream_id(raw_id))
    except (ValueError, TypeError, AttributeError):
        return None
    from khronika.store.ledger import leaf_of  # only when something is wrong

    return leaf_of(topic, stream, version, state)


def _about(row: Row, problem: str) -> Finding:
    """A finding about a stored event, naming its stream as `verify` does."""
    position, raw_id, version, topic, state = row
    try:
        from khronika.store.codec import decode  # only when something is wrong

        slug: str | None = decode(topic, state).slug
    except Exception:  # the bytes may be beyond decoding; name the stream id
        try:
            slug = str(UUID(bytes=_stream_id(raw_id)))
        except (ValueError, TypeError, AttributeError):
            slug = str(raw_id)
    return Finding(problem, position, slug, version if type(version) is int else None)


def altered(level: int, index: int) -> Finding:
    first, last = index << level, ((index + 1) << level) - 1
    tile, entry = divmod(index, WIDTH)
    return Finding(f"the stored Merkle tree's node at level {level}, index "
                   f"{index} (over positions {first + 1} to {last + 1}; hash "
                   f"{entry} of tile {level // HEIGHT}/{tile}) was altered, or its "
                   "tile was")  # fmt: skip


def push(stack: list[Node], node: Node, tree: Tree) -> Finding | None:
    """Add a perfect subtree to the right edge; check each parent it completes
    that the tiles store (every 8th level)."""
    level, index, h = node
    while stack and stack[-1][0] == level and index & 1:  # its left sibling
        left = stack.pop()[2]
        h, level, index = _sha256(b"\x01" + left + h).digest(), level + 1, index >> 1
        if level % HEIGHT == 0 and (found := tree.check(level, index, h)):
            return found
    stack.append((level, index, h))
    return None


def _inner(tree: Tree, start: int, hashes: list[bytes]) -> list[list[bytes]]:
    """Every level of the perfect subtrees over `hashes`, which begin at `start`.

    Raises _Altered for the first stored node that differs, in leaf order.
    """
    levels, level = [hashes], hashes
    while len(level) > 1:
        pairs = iter(level)
        level = [
            _sha256(b"\x01" + a + b).digest()
            for a, b in zip(pairs, pairs, strict=False)  # an odd one waits
        ]
        levels.append(level)
    first: tuple[int, int, Finding] | None = None
    for height in range(HEIGHT, len(levels), HEIGHT):
        offset = start >> height
        for i, h in enumerate(levels[height]):
            found = tree.check(height, offset + i, h)
            if found is not None:
                done = (offset + i + 1) << height  # the leaf completing it, + 1
                if first is None or (done, height) < first[:2]:
                    first = (done, height, found)
                break
    if first is not None:
        raise _Altered(first[2])
    return levels


class _Altered(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


def _fast(
    reader: Reader, tree: Tree, heads: _Heads, rows: list[Row], start: int, n: int
) -> list[bytes] | None:
    """The block's leaf hashes if every event matches its stored leaf, else None."""
    if len(rows) != n:
        return None  # the log ends within the block: look closer
    stream_id = reader.stream_id
    try:
        hashes = [
            _sha256(b"".join((heads[t], stream_id(i), _LENGTHS(v, len(c)), c))).digest()
            for _, i, v, t, s in rows
            for c in (s.partition(b"\n")[0],)  # ledger.covered, inlined
        ]
    except (ValueError, TypeError, AttributeError, struct.error):
        return None
    if not reader.ids_ok(rows):
        return None
    stored = tree.joined(start, start + n)
    if stored is None or stored[0] != b"".join(hashes):
        return None
    if stored[1] != struct.pack(f">{n}q", *[row[0] for row in rows]):
        return None
    return hashes


def _slow(
    rows: list[Row], tree: Tree, start: int, n: int
) -> tuple[list[bytes], Finding | None]:
    """Event by event, as `verify` always did: the hashes that hold, the finding."""
    leaves, wrong = tree.level0(start, start + n) if n else ([], {})
    stored = {index: (h, position) for index, h, position in leaves}
    hashes: list[bytes] = []
    for k in range(n):
        index = start + k
        row = rows[k] if k < len(rows) else None
        if index in wrong:  # a tile's first leaf
            return hashes, Finding(wrong[index], row[0] if row else None)
        if row is None:
            lost = stored.get(index)
            return hashes, Finding(
                f"the Merkle tree has {tree.size} leaves but the log has {index} "
                "events; events were removed",
                lost[1] if lost is not None else None,
            )  # fmt: skip
        leaf = stored.get(index)
        if leaf is None:
            return hashes, _about(row, "is not in the Merkle tree (added behind "
                                       "its back)")  # fmt: skip
        h, position = leaf
        if position != row[0]:
            return hashes, Finding(f"the tree's leaf {index} is the event at "
                                   f"position {position}, but the log has position "
                                   f"{row[0]} there: an event is missing or was "
                                   "moved", min(position, row[0]))  # fmt: skip
        if _leaf(row) != h:
            return hashes, _about(row, "does not match its leaf in the Merkle tree "
                                       "(its stored bytes were changed)")  # fmt: skip
        hashes.append(h)
    return hashes, None


def check(
    reader: Reader, task: Task, progress: Callable[[int], None] | None = None
) -> Outcome:
    """Check one range; `progress` hears the leaves checked after each block."""
    with reader.snapshot():
        return _check(reader, task, progress)


def _check(
    reader: Reader, task: Task, progress: Callable[[int], None] | None
) -> Outcome:
    start, stop, size, block = task.start, task.stop, task.size, task.block
    tree = Tree(reader, size)
    after = None
    if start:
        first = tree.level0(start, start + 1)[0]
        if not first:  # the range before names the problem
            return Outcome(start, 0, [], Finding(f"leaf {start} has no position"))
        after = first[0][2]
    fetch = reader.events(after, stop - start + 1)  # and the one after the range
    heads = _Heads(reader.source.prefix)
    stack: list[Node] = []
    for index in range(start, stop, block):
        n = min(block, stop - index)
        rows = fetch(n)
        hashes = _fast(reader, tree, heads, rows, index, n) if n else []
        finding = None
        if hashes is None:
            hashes, finding = _slow(rows, tree, index, n)
        try:
            levels = _inner(tree, index, hashes)
        except _Altered as e:
            return Outcome(start, index - start, [], e.finding)
        if finding is not None:
            return Outcome(start, index - start + len(hashes), [], finding)
        for height in range(len(levels) - 1, -1, -1):  # the block's perfect subtrees
            count = len(levels[height])
            if count & 1:
                node = (height, (index >> height) + count - 1, levels[height][-1])
                found = push(stack, node, tree)
                if found is not None:
                    return Outcome(start, index - start + n, [], found)
        if progress is not None:
            progress(index - start + n)
    roots = [(level, h) for level, _, h in stack]
    # The leaf after the range: the next range begins at the event its stored
    # position names, so this range checks that no event lies before that one.
    rows, finding = fetch(1), None
    if stop < size or rows:
        if not rows or _fast(reader, tree, heads, rows, stop, 1) is None:
            finding = _slow(rows, tree, stop, 1)[1]
    return Outcome(start, stop - start, roots, finding)


# -- the worker process ----------------------------------------------------


def send(out: IO[bytes], message: msgspec.Struct) -> None:
    data = msgspec.msgpack.encode(message)
    out.write(len(data).to_bytes(4, "big") + data)
    out.flush()


def receive(stream: IO[bytes], kind: type[Any]) -> Any:
    """The next message, or None at the end of the stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    try:
        return msgspec.msgpack.decode(
            stream.read(int.from_bytes(head, "big")), type=kind
        )
    except msgspec.DecodeError as e:  # something else wrote to the pipe
        raise OSError(f"a garbled message: {e}") from e


def main() -> None:
    """Read a Source, then Tasks until stdin ends; write one Outcome per Task."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    source = receive(stdin, Source)
    if source is None:
        return
    reader = open_reader(source)
    try:
        while (task := receive(stdin, Task)) is not None:
            try:
                outcome = check(reader, task)
            except Exception as e:  # the parent says so and stops
                outcome = Outcome(task.start, 0, [], error=f"{type(e).__name__}: {e}")
            send(stdout, outcome)
    finally:
        reader.close()


if __name__ == "__main__":
    main()
