"""Every edit made behind khronika's back is caught by `verify`.

The tampering is done the way an attacker with the file would: sqlite3
statements on the database, bypassing khronika entirely.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from khronika.store import attest
from khronika.store import checkpoint as cp
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, bundle_files, read_lines
from khronika.store.verify import Finding, verify

COLUMNS = "originator_id, originator_version, topic, state"


def load_dataset(app: Chronicle) -> None:
    bundle = resources.files("khronika.data") / "kazakhstan-separatism"
    with resources.as_file(bundle) as path:
        files = bundle_files(path)
        streams = [(f.name, f.open("rb")) for f in files]
        Importer(app, "ann", batch_size=25).run(read_lines(streams))
        for _, stream in streams:
            stream.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "k.db"
    app = Chronicle(str(path), create=True)
    load_dataset(app)
    app.attach_copy("worldcrunch-kz-separatism", b"an archived copy\n", "ann")
    app.close()
    return path


def findings(path: Path, checkpoints: list[cp.Checkpoint] = ()) -> list[Finding]:  # type: ignore[assignment]
    return verify(Chronicle(str(path)), checkpoints)


def sql(path: Path, statement: str, *params: Any) -> None:
    with sqlite3.connect(path) as db:
        db.execute(statement, params)


def row(path: Path, rowid: int) -> tuple[Any, ...]:
    with sqlite3.connect(path) as db:
        found: tuple[Any, ...] = db.execute(
            f"SELECT {COLUMNS} FROM stored_events WHERE rowid = ?", [rowid]
        ).fetchone()
        return found


def test_an_untouched_store_verifies(store: Path) -> None:
    assert findings(store) == []


def test_one_changed_byte_is_named(store: Path) -> None:
    state = bytearray(row(store, 50)[3])
    state[30] ^= 0x01
    sql(store, "UPDATE stored_events SET state = ? WHERE rowid = 50", bytes(state))
    (found,) = findings(store)
    assert found.position == 50 and found.version == 1
    assert "does not match its leaf" in found.message


def test_a_deleted_event_is_named(store: Path) -> None:
    sql(store, "DELETE FROM stored_events WHERE rowid = 50")
    (found,) = findings(store)
    assert found.position == 50
    assert "an event is missing or was moved" in found.message


def test_a_deleted_last_event_is_caught(store: Path) -> None:
    sql(
        store,
        "DELETE FROM stored_events WHERE rowid = "
        "(SELECT MAX(rowid) FROM stored_events)",
    )
    (found,) = findings(store)
    assert "events were removed" in found.message and found.position == 117


def test_two_swapped_events_are_named(store: Path) -> None:
    first, second = row(store, 40), row(store, 60)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid IN (40, 60)")
        db.execute(
            f"INSERT INTO stored_events (rowid, {COLUMNS}) VALUES (40,?,?,?,?)", second
        )
        db.execute(f"INSERT INTO stored_events (rowid, {COLUMNS}) VALUES (60,?,?,?,?)",
                   first)  # fmt: skip
    (found,) = findings(store)
    assert found.position == 40


def test_a_forged_event_is_named(store: Path) -> None:
    forged = row(store, 60)
    sql(store, f"INSERT INTO stored_events ({COLUMNS}) VALUES (?, 2, ?, ?)",
        forged[0], forged[2], forged[3])  # fmt: skip
    (found,) = findings(store)
    assert found.position == 118 and found.version == 2
    assert "is not in the Merkle tree" in found.message


def test_truncation_with_a_recomputed_tree_is_caught_by_an_earlier_checkpoint(
    store: Path,
) -> None:
    app = Chronicle(str(store))
    attest.ensure_key(app)
    earlier = cp.parse(attest.checkpoint(app))
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > 80")
    Chronicle(str(store)).rebuild_tree()  # the attacker rebuilds the tree
    assert findings(store) == []  # consistent on its own...
    (found,) = findings(store, [earlier])  # ...but not with what was published
    assert "covers 117 events, but the log has only 80: it was truncated" in str(found)


def test_a_rewritten_log_with_a_recomputed_tree_breaks_the_checkpoint_root(
    store: Path,
) -> None:
    app = Chronicle(str(store))
    attest.ensure_key(app)
    earlier = cp.parse(attest.checkpoint(app))
    state = bytearray(row(store, 50)[3])
    state[30] ^= 0x01
    with sqlite3.connect(store) as db:
        db.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = 50", [bytes(state)]
        )
    Chronicle(str(store)).rebuild_tree()
    (found,) = findings(store, [earlier])
    assert "do not hash to the root of the checkpoint" in found.message


def test_a_replaced_archived_copy_is_caught(store: Path) -> None:
    sql(store, "UPDATE khronika_copies SET content = ?", b"another text\n")
    (found,) = findings(store)
    assert "was replaced" in found.message


def test_a_flipped_byte_in_a_tile_is_caught(store: Path) -> None:
    """The tree's hashes are tlog-tiles tiles (tests/store/test_tile_tamper.py
    edits every kind); one bit of leaf 49's hash in tile 0/0, flipped."""
    with sqlite3.connect(store) as db:
        ((hashes,),) = db.execute("SELECT hashes FROM khronika_tiles WHERE level = 0")
        changed = bytearray(hashes)
        changed[49 * 32 + 7] ^= 1
        db.execute("UPDATE khronika_tiles SET hashes = ? WHERE level = 0",
                   [bytes(changed)])  # fmt: skip
    (found,) = findings(store)
    assert found.position == 50 and "does not match its leaf" in found.message


Edit = Callable[[sqlite3.Connection, int, Any], None]


def _flip(db: sqlite3.Connection, n: int, draw: Any) -> None:
    rowid = draw(st.integers(1, n))
    state = bytearray(db.execute("SELECT state FROM stored_events WHERE rowid = ?",
                                 [rowid]).fetchone()[0])  # fmt: skip
    state[draw(st.integers(0, len(state) - 1))] ^= 1 << draw(st.integers(0, 7))
    db.execute(
        "UPDATE stored_events SET state = ? WHERE rowid = ?", [bytes(state), rowid]
    )


def _topic(db: sqlite3.Connection, n: int, draw: Any) -> None:
    rowid = draw(st.integers(1, n))
    db.execute("UPDATE stored_events SET topic = topic || 'x' WHERE rowid = ?", [rowid])


def _version(db: sqlite3.Connection, n: int, draw: Any) -> None:
    rowid = draw(st.integers(1, n))
    db.execute("UPDATE stored_events SET originator_version = originator_version + 100 "
               "WHERE rowid = ?", [rowid])  # fmt: skip


def _delete(db: sqlite3.Connection, n: int, draw: Any) -> None:
    db.execute("DELETE FROM stored_events WHERE rowid = ?", [draw(st.integers(1, n))])


def _insert(db: sqlite3.Connection, n: int, draw: Any) -> None:
    source = db.execute(f"SELECT {COLUMNS} FROM stored_events WHERE rowid = ?",
                        [draw(st.integers(1, n))]).fetchone()  # fmt: skip
    db.execute(f"INSERT INTO stored_events ({COLUMNS}) VALUES (?, ?, ?, ?)",
               [source[0], source[1] + 500, source[2], source[3]])  # fmt: skip


def _swap(db: sqlite3.Connection, n: int, draw: Any) -> None:
    a = draw(st.integers(1, n - 1))
    b = draw(st.integers(a + 1, n))
    rows = [db.execute(f"SELECT {COLUMNS} FROM stored_events WHERE rowid = ?",
                       [r]).fetchone() for r in (a, b)]  # fmt: skip
    db.execute("DELETE FROM stored_events WHERE rowid IN (?, ?)", [a, b])
    for rowid, values in ((a, rows[1]), (b, rows[0])):
        db.execute(f"INSERT INTO stored_events (rowid, {COLUMNS}) VALUES (?,?,?,?,?)",
                   [rowid, *values])  # fmt: skip


EDITS: list[Edit] = [_flip, _topic, _version, _delete, _insert, _swap]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(edit=st.sampled_from(EDITS), size=st.integers(2, 40), data=st.data())
def test_every_random_single_edit_is_detected(
    edit: Edit, size: int, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k.db"
        app = Chronicle(str(path), create=True)
        load_dataset(app)
        app.close()
        with sqlite3.connect(path) as db:
            db.execute("DELETE FROM stored_events WHERE rowid > ?", [size])
        Chronicle(str(path)).rebuild_tree()
        assert verify(Chronicle(str(path))) == []
        with sqlite3.connect(path) as db:
            edit(db, size, data.draw)
        assert verify(Chronicle(str(path))) != [], edit.__name__
