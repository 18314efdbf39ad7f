"""verify split into ranges, in this process and in workers, names what one pass does.

The reference is the single pass `verify` made before it was split: every
event in log order against its stored leaf (each level-0 tile's shape checked
at its first leaf), then the nodes above it that the tiles store (levels 8,
16, ...).
Each edit is made behind khronika's back; every way of splitting the log
must name the same first finding.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronika.store import merkle, tiletree
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, bundle_files, read_lines
from khronika.store.ledger import canonical, leaf
from khronika.store.verify import Finding, verify
from khronika.store.verify_range import _leaf, _stream_id, _tile_problem, altered

COLUMNS = "originator_id, originator_version, topic, state"
SPANS = [1, 2, 4, 8, 32, 64]


def load_dataset(app: Chronicle) -> None:
    bundle = resources.files("khronika.data") / "kazakhstan-separatism"
    with resources.as_file(bundle) as path:
        streams = [(f.name, f.open("rb")) for f in bundle_files(path)]
        Importer(app, "ann", batch_size=25).run(read_lines(streams))
        for _, stream in streams:
            stream.close()


def one_pass(app: Chronicle) -> list[Finding]:
    """The events and the tree as `verify` checks them in one pass, page by page."""
    with sqlite3.connect(app.location) as db:
        stored_tiles = {
            (level, index): (_bytes(h), _bytes(p))
            for level, index, h, p in db.execute(
                "SELECT level, idx, CASE WHEN typeof(hashes) = 'blob' THEN hashes "
                "END, CASE WHEN typeof(positions) = 'blob' THEN positions END "
                "FROM khronika_tiles"
            )
        }
    size = app.store.tree_size()

    def problem(level: int, index: int) -> str | None:
        """What is wrong with a tile's shape at this size (verify_range.Tree)."""
        tile = stored_tiles.get((level, index))
        expected = 32 * tiletree.width(level, index, size)
        if tile is None:
            return _tile_problem(level, index, size, None) if expected else None
        length = len(tile[0])
        good = (
            length == expected
            if expected == tiletree.FULL
            else (expected <= length <= tiletree.FULL and length % 32 == 0)
        )
        if good and (level or len(tile[1]) * 4 == length):
            return None
        return _tile_problem(level, index, size, (index, *tile))

    frontier, nodes = merkle.Frontier(), merkle.DictStore()
    for page in app.pages():
        for n in page:
            index = frontier.size
            row = (n.id, n.originator_id, n.originator_version, n.topic, n.state)
            if index % tiletree.WIDTH == 0:
                wrong = problem(0, index // tiletree.WIDTH)
                if wrong is not None:
                    return [Finding(wrong, n.id)]
            tile, offset = divmod(index, tiletree.WIDTH)
            hashes, kept = stored_tiles.get((0, tile), (b"", b""))
            if index >= size or 8 * offset + 8 > len(kept):
                return [
                    _about(row, "is not in the Merkle tree (added behind its back)")
                ]
            stored = hashes[32 * offset : 32 * offset + 32]
            (position,) = struct.unpack_from(">q", kept, 8 * offset)
            if position != n.id:
                return [Finding(f"the tree's leaf {index} is the event at position "
                                f"{position}, but the log has position {n.id} there: "
                                "an event is missing or was moved",
                                min(position, n.id))]  # fmt: skip
            if stored != leaf(n):
                return [_about(row, "does not match its leaf in the Merkle tree "
                                    "(its stored bytes were changed)")]  # fmt: skip
            frontier.add(stored)
        for level, index, h in sorted(nodes.extend([leaf(n) for n in page])):
            if not level or level % tiletree.HEIGHT:
                continue  # not a level the tiles store
            tile, offset = divmod(index, tiletree.WIDTH)
            wrong = problem(level // tiletree.HEIGHT, tile)
            if wrong is not None:
                return [Finding(wrong)]
            hashes = stored_tiles[level // tiletree.HEIGHT, tile][0]
            if hashes[32 * offset : 32 * offset + 32] != h:
                return [altered(level, index)]
    if size > frontier.size:
        tile, offset = divmod(frontier.size, tiletree.WIDTH)
        kept = stored_tiles.get((0, tile), (b"", b""))[1]
        lost = struct.unpack_from(">q", kept, 8 * offset)[0]
        return [Finding(f"the Merkle tree has {size} leaves but the log "
                        f"has {frontier.size} events; events were removed",
                        lost)]  # fmt: skip
    return []


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else b""


def _about(row: tuple[Any, ...], problem: str) -> Finding:
    from khronika.store.codec import decode

    try:
        slug = decode(row[3], row[4]).slug
    except Exception:
        slug = str(row[1])
    return Finding(problem, row[0], slug, row[2])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pristine") / "k.db"
    app = Chronicle(str(path), create=True)
    load_dataset(app)
    app.close()
    return path


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "k.db"
    path.write_bytes(pristine.read_bytes())
    return path


Edit = Callable[[sqlite3.Connection], None]


def _flip(rowid: int, at: int = 30) -> Edit:
    def edit(db: sqlite3.Connection) -> None:
        row = db.execute("SELECT state FROM stored_events WHERE rowid = ?", [rowid])
        state = bytearray(row.fetchone()[0])
        state[at % len(state)] ^= 1
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                   [bytes(state), rowid])  # fmt: skip

    return edit


def _sql(statement: str) -> Edit:
    def edit(db: sqlite3.Connection) -> None:
        db.execute(statement)

    return edit


def _swap(a: int, b: int) -> Edit:
    def edit(db: sqlite3.Connection) -> None:
        rows = [db.execute(f"SELECT {COLUMNS} FROM stored_events WHERE rowid = ?",
                           [r]).fetchone() for r in (a, b)]  # fmt: skip
        db.execute("DELETE FROM stored_events WHERE rowid IN (?, ?)", [a, b])
        for rowid, values in ((a, rows[1]), (b, rows[0])):
            db.execute(f"INSERT INTO stored_events (rowid, {COLUMNS}) "
                       "VALUES (?,?,?,?,?)", [rowid, *values])  # fmt: skip

    return edit


def _tile(hashes: str = "hashes", positions: str = "positions") -> Edit:
    """Tile 0/0 (the log's 116 leaves) rewritten: SQL of its columns."""
    return _sql(f"UPDATE khronika_tiles SET hashes = {hashes}, positions = "
                f"{positions} WHERE level = 0 AND idx = 0")  # fmt: skip


def _spliced(column: str, at: int, width: int, value: str) -> str:
    """The column's bytes with `width` of them from `at` replaced by `value`
    (|| makes text in SQLite: cast back to bytes)."""
    return (f"CAST(substr({column}, 1, {at}) || {value} || "
            f"substr({column}, {at + width + 1}) AS BLOB)")  # fmt: skip


EDITS: dict[str, Edit] = {
    "untouched": lambda db: None,
    "a byte of the first event": _flip(1),
    "a byte at a range's start": _flip(33),
    "a byte at a range's end": _flip(64),
    "a byte of the last event": _flip(116),
    "a topic": _sql("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = 70"),
    "a version": _sql(
        "UPDATE stored_events SET originator_version = 9 WHERE rowid = 17"
    ),  # fmt: skip
    "a stream id with hyphens, as UUID() reads it": _sql(
        "UPDATE stored_events SET originator_id = substr(originator_id, 1, 8) || "
        "'-' || substr(originator_id, 9, 4) || '-' || substr(originator_id, 13, 4) "
        "|| '-' || substr(originator_id, 17, 4) || '-' || substr(originator_id, 21) "
        "WHERE rowid = 40"
    ),
    "a stream id that is no UUID": _sql(
        "UPDATE stored_events SET originator_id = 'x' || substr(originator_id, 2) "
        "WHERE rowid = 40"
    ),
    "a version that is text": _sql(
        "UPDATE stored_events SET originator_version = 'one' WHERE rowid = 41"
    ),  # fmt: skip
    "state stored as text": _sql(
        "UPDATE stored_events SET state = CAST(state AS TEXT) WHERE rowid = 42"
    ),  # fmt: skip
    "a deleted event at a range's start": _sql(
        "DELETE FROM stored_events WHERE rowid = 65"
    ),  # fmt: skip
    "a deleted event mid-range": _sql("DELETE FROM stored_events WHERE rowid = 50"),
    "the deleted last event": _sql("DELETE FROM stored_events WHERE rowid = 116"),
    "the last two deleted": _sql("DELETE FROM stored_events WHERE rowid > 109"),
    "an added event": _sql(
        f"INSERT INTO stored_events ({COLUMNS}) SELECT "
        "originator_id, 99, topic, state FROM stored_events "
        "WHERE rowid = 3"
    ),  # fmt: skip
    "swapped events": _swap(40, 60),
    "swapped across ranges": _swap(20, 100),
    "an event moved": _sql("UPDATE stored_events SET rowid = 500 WHERE rowid = 80"),
    "a leaf's hash": _tile(hashes=_spliced("hashes", 33 * 32, 32, "zeroblob(32)")),
    "a leaf's position": _tile(
        positions=_spliced("positions", 64 * 8, 8, "x'0000000000000007'")
    ),
    "the positions stored as text": _tile(positions="CAST(positions AS TEXT)"),
    "the hashes stored as text": _tile(hashes="CAST(hashes AS TEXT)"),
    "a deleted tile": _sql("DELETE FROM khronika_tiles"),
    "the tile cut short by its last leaf": _tile(
        "CAST(substr(hashes, 1, 115 * 32) AS BLOB)",
        "CAST(substr(positions, 1, 115 * 8) AS BLOB)",
    ),
    "the tile a byte short": _tile("CAST(substr(hashes, 2) AS BLOB)"),
    "the positions a byte short": _tile(positions="CAST(substr(positions, 2) AS BLOB)"),
}


def findings(path: Path, **how: Any) -> list[Finding]:
    app = Chronicle(str(path))
    try:
        return verify(app, **how)
    finally:
        app.close()


# the library reads the stream id as UUID() does, and SQLite stores a whole
# real in an INTEGER column as an integer; so these are the same events
SAME_EVENTS = {"untouched", "a stream id with hyphens, as UUID() reads it"}
# the one pass stopped at these with an exception; verify names them now
BEYOND_THE_LIBRARY = {
    "a stream id that is no UUID": (40, "does not match its leaf"),
    "a version that is text": (41, "does not match its leaf"),
    "state stored as text": (42, "does not match its leaf"),
}


def expected(path: Path, edit: str) -> list[Finding]:
    """What one pass names; for an edit it stopped at, what one range names."""
    if edit in BEYOND_THE_LIBRARY:
        return findings(path, processes=1)
    app = Chronicle(str(path))
    try:
        return one_pass(app)
    finally:
        app.close()


@pytest.mark.parametrize("edit", EDITS)
def test_every_split_in_this_process_names_what_one_pass_names(
    store: Path, edit: str
) -> None:
    with sqlite3.connect(store) as db:
        EDITS[edit](db)
    named = expected(store, edit)
    assert (named == []) == (edit in SAME_EVENTS)
    if edit in BEYOND_THE_LIBRARY:
        (found,) = named
        position, message = BEYOND_THE_LIBRARY[edit]
        assert found.position == position and message in str(found)
    for span in SPANS:
        assert findings(store, processes=1, span=span) == named, span
    assert findings(store) == named


@pytest.mark.parametrize(
    "edit", ["untouched", "a byte at a range's start", "a leaf's position",
             "swapped across ranges", "the deleted last event"],
)  # fmt: skip
def test_worker_processes_name_what_one_pass_names(store: Path, edit: str) -> None:
    with sqlite3.connect(store) as db:
        EDITS[edit](db)
    assert findings(store, processes=3, span=16) == expected(store, edit)


def test_progress_rises_to_the_size_of_the_log(store: Path) -> None:
    heard: list[int] = []
    assert findings(store, processes=1, span=16, on_progress=heard.append) == []
    assert heard == sorted(heard) and heard[-1] == 116 and len(heard) > 1


def test_an_empty_store_and_a_forged_first_event(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    Chronicle(str(path), create=True).close()
    assert findings(path) == findings(path, processes=2, span=1) == []
    with sqlite3.connect(path) as db:
        db.execute(f"INSERT INTO stored_events ({COLUMNS}) VALUES (?, 1, 't', x'00')",
                   ["ab" * 16])  # fmt: skip
    (found,) = findings(path)
    assert found.position == 1 and "is not in the Merkle tree" in found.message


def test_an_untouched_store_is_checked_in_bulk_never_event_by_event(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leaves built from raw columns are the ledger's, or every block would
    be walked event by event (still right, but slow)."""
    from khronika.store import verify_range

    def slow(*args: Any) -> Any:
        raise AssertionError("a block of an untouched store did not match in bulk")

    monkeypatch.setattr(verify_range, "_slow", slow)
    for span in SPANS:
        assert findings(store, processes=1, span=span) == []
    with sqlite3.connect(store) as db:  # gaps in the positions, as PostgreSQL has
        db.execute("UPDATE stored_events SET rowid = -rowid")
        db.execute("UPDATE stored_events SET rowid = -rowid * 2")
        ((kept,),) = db.execute("SELECT positions FROM khronika_tiles")
        doubled = [2 * p for p in struct.unpack(f">{len(kept) // 8}q", kept)]
        db.execute("UPDATE khronika_tiles SET positions = ?, first_position = 2",
                   [struct.pack(f">{len(doubled)}q", *doubled)])  # fmt: skip
    for span in SPANS:
        assert findings(store, processes=1, span=span) == []


def test_a_span_that_is_no_power_of_two_is_refused(store: Path) -> None:
    with pytest.raises(ValueError, match="power of two, not 3"):
        findings(store, span=3)


@settings(max_examples=50, deadline=None)
@given(
    topic=st.text(min_size=1, max_size=40),
    stream=st.uuids(),
    version=st.integers(0, 2**64 - 1),
    state=st.binary(max_size=300),
)
def test_the_leaf_from_raw_columns_is_the_ledgers(
    topic: str, stream: Any, version: int, state: bytes
) -> None:
    expected = merkle.leaf_hash(canonical(topic, stream, version, state))
    assert _leaf((1, stream.hex, version, topic, state)) == expected
    assert _leaf((1, str(stream), version, topic, state)) == expected
    assert _stream_id(stream) == stream.bytes


def _random_edit(size: int, data: st.DataObject) -> Edit:
    """One edit of a log of `size` events, anywhere in it."""
    row = data.draw(st.integers(1, size))
    other = data.draw(st.integers(1, size).filter(lambda r: r != row or size == 1))
    return data.draw(st.sampled_from([
        _flip(row, data.draw(st.integers(0, 999))),
        _sql(f"DELETE FROM stored_events WHERE rowid = {row}"),
        _sql(f"DELETE FROM stored_events WHERE rowid >= {row}"),
        _swap(min(row, other), max(row, other)) if row != other else _flip(row),
        _sql(f"UPDATE stored_events SET originator_version = 7 WHERE rowid = {row}"),
        _tile(hashes=_spliced("hashes", (row - 1) * 32, 32, "zeroblob(32)")),
        _sql("DELETE FROM khronika_tiles"),
        _tile(positions=_spliced("positions", (row - 1) * 8, 8,
                                 f"x'{other:016x}'")),
    ]))  # fmt: skip


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(size=st.integers(1, 116), span=st.sampled_from(SPANS), data=st.data())
def test_a_random_edit_of_a_shorter_log_is_named_as_one_pass_names_it(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, size: int, span: int,
    data: st.DataObject,
) -> None:  # fmt: skip
    path = tmp_path_factory.mktemp("random") / "k.db"
    path.write_bytes(pristine.read_bytes())
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > ?", [size])
    Chronicle(str(path)).rebuild_tree()
    with sqlite3.connect(path) as db:
        _random_edit(size, data)(db)
    app = Chronicle(str(path))
    named = one_pass(app)
    app.close()
    assert findings(path, processes=1, span=span) == named


def test_on_sqlite_and_postgresql_workers_name_the_changed_event(
    app: Chronicle, store_path: str
) -> None:
    load_dataset(app)
    assert verify(app, processes=2, span=16) == []
    position = [n.id for n in app.notifications()][49]
    if store_path.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store_path, autocommit=True) as db:
            db.execute(  # a byte before the envelope, which the leaf covers
                "UPDATE khronika_events SET state = '\\x20'::bytea || state "
                "WHERE notification_id = %s",
                [position],
            )
    else:
        with sqlite3.connect(store_path) as db:
            db.execute("UPDATE stored_events SET state = x'20' || state "
                       "WHERE rowid = ?", [position])  # fmt: skip
    (found,) = verify(app, processes=1)
    assert found.position == position and "does not match its leaf" in found.message
    assert (
        verify(app, processes=2, span=16) == verify(app, processes=3, span=4) == [found]
    )


def test_a_worker_that_cannot_read_the_store_says_why(tmp_path: Path) -> None:
    from khronika.store.verify import _Ranges, _work
    from khronika.store.verify_range import Source

    ranges = _Ranges(size=4, span=2)
    nowhere = f"file:{tmp_path / 'none.db'}?mode=ro"
    _work(ranges, Source("stored_events", "khronika_tiles", b"\0", sqlite=nowhere))
    (outcome,) = ranges.outcomes.values()
    assert outcome.error is not None and "unable to open database" in outcome.error
