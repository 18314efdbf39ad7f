"""Checking one range of leaves of the log against the stored Merkle tree.

`verify` splits the tree's leaves into ranges of a power-of-two size and
checks each range here, in its own process or in a worker process started
as `python -m khronika.store.verify_range`, which reads tasks on stdin and
writes outcomes on stdout (msgpack frames, each after its 4-byte length).
A worker imports no more than this module needs, so it starts in a blink.

A range is read with one ordered cursor over the events, a block of leaves
at a time: the canonical bytes of each event are built from the raw columns
(no library objects) and hashed, and each inner node of the block is
hashed once. The block's stored leaves, then its stored inner nodes, are
each read as one row per level (count, rows amiss, hashes joined) and
compared with the recomputed ones at once. Only when a block does not match
is it walked event by event, to name the first broken one as `verify`
always has; above the block, the nodes are checked as blocks complete them.

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

BLOCK = 1024  # leaves hashed and compared at a time: a perfect subtree
Row = tuple[int, Any, Any, Any, Any]  # position, stream id, version, topic, state
Leaf = tuple[int, bytes, int]  # index, hash (b"" if none), position (-1 if none)
Node = tuple[int, int, bytes]  # level, index, hash
Bulk = tuple[int, int, bytes]  # rows, rows that are not right, hashes joined

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
    merkle: str  # the tree table
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

    def leaves(self, start: int, stop: int) -> list[Leaf]: ...

    def leaf_block(self, start: int, stop: int, offset: int) -> Bulk:
        """Leaves [start, stop) at once: how many; how many have no 32-byte
        hash or a position other than index + `offset`; their hashes joined."""
        ...

    def node_blocks(self, start: int, counts: Sequence[int]) -> list[Bulk]:
        """The same for levels 1, 2, ... over the leaves from `start`."""
        ...

    def nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        """Stored (index, hash) of one level in [start, stop), by index."""
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
        # what ledger._blob reads as a hash, and a position that is a number
        self.select_leaves = (
            "SELECT idx, CASE WHEN typeof(hash) = 'blob' THEN hash ELSE x'' END, "
            "CASE WHEN typeof(position) = 'integer' THEN position ELSE -1 END "
            f"FROM {source.merkle} WHERE level = 0 AND idx >= ? AND idx < ? "
            "ORDER BY idx"
        )
        self.select_nodes = (
            "SELECT idx, CASE WHEN typeof(hash) = 'blob' THEN hash ELSE x'' END "
            f"FROM {source.merkle} WHERE level = ? AND idx >= ? AND idx < ? "
            "ORDER BY idx"
        )
        # group_concat joins the blobs byte for byte, in the order of the
        # primary key it scans; a different order would only fail to match
        self.select_leaf_block = (
            "SELECT count(*), total(typeof(hash) != 'blob' OR length(hash) != 32 "
            "OR typeof(position) != 'integer' OR position - idx != ?), "
            "CAST(group_concat(hash, '') AS BLOB) "
            f"FROM {source.merkle} WHERE level = 0 AND idx >= ? AND idx < ?"
        )
        self.select_level = (  # the level first: a UNION keeps no order
            "SELECT ?, count(*), total(typeof(hash) != 'blob' OR length(hash) != 32), "
            "CAST(group_concat(hash, '') AS BLOB) "
            f"FROM {source.merkle} WHERE level = ? AND idx >= ? AND idx < ?"
        )
        self.select_levels: dict[int, str] = {}
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

    def leaves(self, start: int, stop: int) -> list[Leaf]:
        return self.db.execute(self.select_leaves, (start, stop)).fetchall()

    def nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        return self.db.execute(self.select_nodes, (level, start, stop)).fetchall()

    def leaf_block(self, start: int, stop: int, offset: int) -> Bulk:
        count, bad, joined = self.db.execute(
            self.select_leaf_block, (offset, start, stop)
        ).fetchone()
        return count, int(bad), joined or b""

    def node_blocks(self, start: int, counts: Sequence[int]) -> list[Bulk]:
        statement = self.select_levels.get(len(counts))
        if statement is None:
            statement = " UNION ALL ".join([self.select_level] * len(counts))
            self.select_levels[len(counts)] = statement
        params: list[int] = []
        for level, count in enumerate(counts, start=1):
            params += (level, level, start >> level, (start >> level) + count)
        rows = sorted(self.db.execute(statement, params).fetchall())
        return [(count, int(bad), joined or b"") for _, count, bad, joined in rows]

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

        events, merkle = table(source.events), table(source.merkle)
        self.select_events = sql.SQL(
            "SELECT notification_id, originator_id, originator_version, topic, "
            "state FROM {} WHERE notification_id >= %s ORDER BY notification_id "
            "LIMIT %s"
        ).format(events)
        self.select_leaves = sql.SQL(
            "SELECT idx, COALESCE(hash, ''::bytea), COALESCE(position, -1) FROM {} "
            "WHERE level = 0 AND idx >= %s AND idx < %s ORDER BY idx"
        ).format(merkle)
        self.select_nodes = sql.SQL(
            "SELECT idx, COALESCE(hash, ''::bytea) FROM {} "
            "WHERE level = %s AND idx >= %s AND idx < %s ORDER BY idx"
        ).format(merkle)
        self.select_leaf_block = sql.SQL(
            "SELECT count(*), count(*) FILTER (WHERE hash IS NULL OR "
            "length(hash) != 32 OR position IS NULL OR position - idx != %s), "
            "string_agg(hash, ''::bytea ORDER BY idx) FROM {} "
            "WHERE level = 0 AND idx >= %s AND idx < %s"
        ).format(merkle)
        self.select_level = sql.SQL(  # the level first: a UNION keeps no order
            "SELECT %s, count(*), count(*) FILTER (WHERE hash IS NULL OR "
            "length(hash) != 32), "
            "string_agg(hash, ''::bytea ORDER BY idx) FROM {} "
            "WHERE level = %s AND idx >= %s AND idx < %s"
        ).format(merkle)
        self.stream_id: Callable[[Any], bytes] = (
            _stream_id if source.text_ids else attrgetter("bytes")
        )
        self.select_levels: dict[int, sql.Composed] = {}
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

    def leaves(self, start: int, stop: int) -> list[Leaf]:
        rows = self.connection.execute(self.select_leaves, (start, stop), binary=True)
        return rows.fetchall()

    def nodes(self, level: int, start: int, stop: int) -> list[tuple[int, bytes]]:
        rows = self.connection.execute(
            self.select_nodes, (level, start, stop), binary=True
        )
        return rows.fetchall()

    def leaf_block(self, start: int, stop: int, offset: int) -> Bulk:
        count, bad, joined = self.connection.execute(
            self.select_leaf_block, (offset, start, stop), binary=True
        ).fetchone()  # type: ignore[misc]
        return count, bad, joined or b""

    def node_blocks(self, start: int, counts: Sequence[int]) -> list[Bulk]:
        from psycopg import sql

        statement = self.select_levels.get(len(counts))
        if statement is None:
            statement = sql.SQL(" UNION ALL ").join([self.select_level] * len(counts))
            self.select_levels[len(counts)] = statement
        params: list[int] = []
        for level, count in enumerate(counts, start=1):
            params += (level, level, start >> level, (start >> level) + count)
        rows = self.connection.execute(statement, params, binary=True).fetchall()
        return [(count, bad, joined or b"") for _, count, bad, joined in sorted(rows)]

    def ids_ok(self, rows: Sequence[Row]) -> bool:
        return True  # stream_id parsed each one, or raised

    def close(self) -> None:
        self.connection.close()


def open_reader(source: Source) -> Reader:
    if source.sqlite:
        return SQLiteReader(source)
    return PostgresReader(source)


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
    return Finding(f"the stored Merkle tree's inner node at level {level}, "
                   f"index {index} (over positions {first + 1} to {last + 1}) "
                   "was altered")  # fmt: skip


def push(stack: list[Node], node: Node, reader: Reader) -> Finding | None:
    """Add a perfect subtree to the right edge; check each parent it completes."""
    level, index, h = node
    while stack and stack[-1][0] == level and index & 1:  # its left sibling
        left = stack.pop()[2]
        h, level, index = _sha256(b"\x01" + left + h).digest(), level + 1, index >> 1
        if reader.nodes(level, index, index + 1) != [(index, h)]:
            return altered(level, index)
    stack.append((level, index, h))
    return None


def _inner(reader: Reader, start: int, hashes: list[bytes]) -> list[list[bytes]]:
    """Every level of the perfect subtrees over `hashes`, which begin at `start`.

    Raises _Altered for the first stored inner node that differs, in leaf order.
    """
    levels, level = [hashes], hashes
    while len(level) > 1:
        pairs = iter(level)
        level = [
            _sha256(b"\x01" + a + b).digest()
            for a, b in zip(pairs, pairs, strict=False)  # an odd one waits
        ]
        levels.append(level)
    if len(levels) == 1:
        return levels
    stored = reader.node_blocks(start, [len(level) for level in levels[1:]])
    first = None
    for height, (level, (count, bad, joined)) in enumerate(
        zip(levels[1:], stored, strict=True), start=1
    ):
        if count == len(level) and not bad and joined == b"".join(level):
            continue
        offset = start >> height
        found = dict(reader.nodes(height, offset, offset + len(level)))
        for i, h in enumerate(level):
            if found.get(offset + i) != h:
                done = (offset + i + 1) << height  # the leaf completing it, + 1
                if first is None or (done, height) < first[:2]:
                    first = (done, height, offset + i)
                break
    if first is not None:
        raise _Altered(altered(first[1], first[2]))
    return levels


class _Altered(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


def _fast(
    reader: Reader, heads: _Heads, rows: list[Row], start: int, n: int
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
    if rows[-1][0] - rows[0][0] == n - 1:  # consecutive positions, as usual
        count, bad, joined = reader.leaf_block(start, start + n, rows[0][0] - start)
        if count != n or bad or joined != b"".join(hashes):
            return None
        return hashes
    leaves = reader.leaves(start, start + n)  # a gap, as PostgreSQL may leave
    if (
        len(leaves) != n
        or leaves[0][0] != start
        or leaves[-1][0] != start + n - 1  # indexes are unique: none is missing
        or [leaf[1] for leaf in leaves] != hashes
        or [leaf[2] for leaf in leaves] != [row[0] for row in rows]
    ):
        return None
    return hashes


def _slow(
    rows: list[Row], leaves: list[Leaf], start: int, n: int, size: int
) -> tuple[list[bytes], Finding | None]:
    """Event by event, as `verify` always did: the hashes that hold, the finding."""
    stored = {index: (h, position) for index, h, position in leaves}
    hashes: list[bytes] = []
    for k in range(n):
        index = start + k
        if k >= len(rows):
            lost = stored.get(index)
            return hashes, Finding(
                f"the Merkle tree has {size} leaves but the log has {index} "
                "events; events were removed",
                lost[1] if lost is not None else None,
            )  # fmt: skip
        row = rows[k]
        leaf = stored.get(index)
        if leaf is None:
            return hashes, _about(row, "is not in the Merkle tree (added behind "
                                       "its back)")  # fmt: skip
        h, position = leaf
        if len(h) != HASH_SIZE or position < 0:
            return hashes, Finding(f"the tree's leaf {index} has no hash or no "
                                   "position, or one that is not a number: the "
                                   "stored Merkle tree was altered",
                                   row[0])  # fmt: skip
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
    after = None
    if start:
        first = reader.leaves(start, start + 1)
        if not first or first[0][2] < 0:  # the range before names the problem
            return Outcome(start, 0, [], Finding(f"leaf {start} has no position"))
        after = first[0][2]
    fetch = reader.events(after, stop - start + 1)  # and the one after the range
    heads = _Heads(reader.source.prefix)
    stack: list[Node] = []
    for index in range(start, stop, block):
        n = min(block, stop - index)
        rows = fetch(n)
        hashes = _fast(reader, heads, rows, index, n) if n else []
        finding = None
        if hashes is None:
            leaves = reader.leaves(index, index + n)
            hashes, finding = _slow(rows, leaves, index, n, size)
        try:
            levels = _inner(reader, index, hashes)
        except _Altered as e:
            return Outcome(start, index - start, [], e.finding)
        if finding is not None:
            return Outcome(start, index - start + len(hashes), [], finding)
        for height in range(len(levels) - 1, -1, -1):  # the block's perfect subtrees
            count = len(levels[height])
            if count & 1:
                node = (height, (index >> height) + count - 1, levels[height][-1])
                found = push(stack, node, reader)
                if found is not None:
                    return Outcome(start, index - start + n, [], found)
        if progress is not None:
            progress(index - start + n)
    roots = [(level, h) for level, _, h in stack]
    # The leaf after the range: the next range begins at the event its stored
    # position names, so this range checks that no event lies before that one.
    rows, finding = fetch(1), None
    if stop < size or rows:
        if not rows or _fast(reader, heads, rows, stop, 1) is None:
            finding = _slow(rows, reader.leaves(stop, stop + 1), stop, 1, size)[1]
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
