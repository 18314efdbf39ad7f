"""Every edit of the stored tiles made behind khronika's back is caught and named.

A log of 602 events has two full level-0 tiles, a partial one of 90 leaves
and a level-1 tile of 2 hashes (the roots of the two full ones). Each edit
is made with the database's own driver, on SQLite and on PostgreSQL, then
undone before the next.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from khronika.store import tiletree
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, read_lines
from khronika.store.verify import verify

FACTS = 599  # and the admin, a source and a person: 602 events

Tile = tuple[bytes, bytes | None]  # hashes, positions
Change = Callable[[bytes, bytes | None], Tile | None]  # None deletes the tile


def load(app: Chronicle, path: Path) -> None:
    records = [
        {"type": "source", "id": "src", "title": "Generated", "publisher": "Bench",
         "url": "https://example.org/", "published": "2024-06", "language": "en"},
        {"type": "entity", "id": "ann", "kind": "person", "name": "Ann"},
        *({"type": "fact", "id": f"f-{i}", "kind": "statement", "when": "2020",
           "summary": f"Fact {i}.",
           "participants": [{"entity": "ann", "role": "subject"}],
           "sources": [{"source": "src", "locator": "para:1"}]}
          for i in range(FACTS)),
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    with path.open("rb") as f:
        Importer(app, "tester").run(read_lines([("facts.jsonl", f)]))


def read_tile(location: str, level: int, index: int) -> Tile | None:
    query = "SELECT hashes, positions FROM khronika_tiles WHERE level = ? AND idx = ?"
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as db:
            row = db.execute(query.replace("?", "%s"), [level, index]).fetchone()
    else:
        with sqlite3.connect(location) as db:
            row = db.execute(query, [level, index]).fetchone()
    if row is None:
        return None
    return bytes(row[0]), None if row[1] is None else bytes(row[1])


def tile_edit(level: int, index: int, tile: Tile | None) -> tuple[str, list[Any]]:
    """The statement and parameters that store `tile` (None: delete it)."""
    if tile is None:
        return "DELETE FROM khronika_tiles WHERE level = ? AND idx = ?", [level, index]
    first = struct.unpack_from(">q", tile[1])[0] if tile[1] else None
    return (
        "INSERT INTO khronika_tiles (level, idx, hashes, first_position, "
        "positions) VALUES (?, ?, ?, ?, ?) ON CONFLICT (level, idx) DO UPDATE "
        "SET hashes = excluded.hashes, positions = excluded.positions",
        [level, index, tile[0], first, tile[1]],
    )


def flip(at: int) -> Change:
    """One bit of the tile's hashes flipped, `at` bytes in."""
    return lambda h, p: (h[:at] + bytes([h[at] ^ 1]) + h[at + 1 :], p)


def cut(hashes: int) -> Change:
    return lambda h, p: (h[: 32 * hashes], p)


def cut_both(hashes: int) -> Change:
    return lambda h, p: (h[: 32 * hashes], None if p is None else p[: 8 * hashes])


def position(leaf: int, to: int) -> Change:
    def change(h: bytes, p: bytes | None) -> Tile:
        assert p is not None
        return h, p[: 8 * leaf] + struct.pack(">q", to) + p[8 * leaf + 8 :]

    return change


def test_every_edit_of_a_tile_is_caught_and_named(
    app: Chronicle, store_path: str, tmp_path: Path, make: Any
) -> None:
    load(app, tmp_path / "facts.jsonl")
    size = app.store.tree_size()
    assert size == 602 and verify(app) == []
    at = {i: p for i, (_, p) in app.store.leaves(0, size).items()}
    node = "the stored Merkle tree's node at level 8, index"
    edits: dict[str, tuple[int, int, Change, str, int | None]] = {
        # name: (tile level, tile index, change, what verify says, where)
        "a flipped byte in a full tile": (
            0, 1, flip(44 * 32 + 5),
            "does not match its leaf in the Merkle tree", at[300],
        ),
        "a flipped byte in the partial tile": (
            0, 2, flip(8 * 32), "does not match its leaf in the Merkle tree",
            at[520],
        ),
        "a flipped byte in a level-1 tile": (
            1, 0, flip(40),
            f"{node} 1 (over positions 257 to 512; hash 1 of tile 1/0) was "
            "altered", None,
        ),
        "a full tile cut short": (
            0, 1, cut(255),
            "the stored tile 0/1 holds 8160 bytes of hashes and 2048 of "
            "positions, where a tree of 602 leaves has 256 hashes there, 8192 "
            "bytes: the stored Merkle tree was altered",
            at[256],
        ),
        "a level-1 tile cut short": (
            1, 0, cut(1), "the stored tile 1/0 holds 32 bytes of hashes, where a "
            "tree of 602 leaves has 2 hashes there, 64 bytes", None,
        ),
        "a deleted full tile": (
            0, 1, lambda h, p: None, "the stored tile 0/1 is missing", at[256],
        ),
        "a deleted level-1 tile": (
            1, 0, lambda h, p: None, "the stored tile 1/0 is missing", None,
        ),
        "a leaf's position changed": (
            0, 1, position(300 - 256, at[301]),
            f"the tree's leaf 300 is the event at position {at[301]}, but the log "
            f"has position {at[300]} there", at[300],
        ),
        "a leaf's positions cut short": (
            0, 0, lambda h, p: (h, (p or b"")[:-8]),
            "the stored tile 0/0 holds 8192 bytes of hashes and 2040 of positions",
            at[0],
        ),
        "the partial tile cut short, with its positions": (
            0, 2, cut_both(80), "is not in the Merkle tree (added behind its back)",
            at[592],
        ),
        "a deleted partial tile": (
            0, 2, lambda h, p: None,
            "is not in the Merkle tree (added behind its back)", at[512],
        ),
    }  # fmt: skip
    missed: dict[str, Any] = {}
    for name, (level, index, change, said, where) in edits.items():
        kept = read_tile(store_path, level, index)
        assert kept is not None
        statement, params = tile_edit(level, index, change(*kept))
        make.edit(store_path, statement, *params)
        reopened = Chronicle(store_path)
        try:
            found = verify(reopened, processes=1)
            split = verify(reopened, processes=2, span=64)  # a worker process too
        finally:
            reopened.close()
        statement, params = tile_edit(level, index, kept)
        make.edit(store_path, statement, *params)
        if (
            len(found) != 1
            or said not in found[0].message
            or found[0].position != where
            or split != found
        ):
            missed[name] = (found, split)
    assert missed == {}
    assert verify(app) == []


def test_a_served_tile_is_the_stored_one_and_its_root_is_the_trees(
    app: Chronicle, tmp_path: Path
) -> None:
    from khronika.store import merkle, tiles

    load(app, tmp_path / "facts.jsonl")
    full = tiles.hashes(app, tiles.Tile(0, 1, 256))
    assert full == app.store.tile(0, 1) and len(full) == tiletree.FULL
    partial = tiles.hashes(app, tiles.Tile(1, 0, 2))
    assert partial[32:] == tiletree.tile_root(full)
    assert merkle.root(512, app.store.node) == merkle.node_hash(
        partial[:32], partial[32:]
    )
