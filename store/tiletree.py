"""The Merkle tree stored as C2SP tlog-tiles hash tiles, one row per tile.

tlog-tiles §Merkle Tree: the n-th tile at level l holds, for i in 0..255,
MTH(D[(n*256 + i) * 256**l : (n*256 + i + 1) * 256**l]), concatenated
32-byte hashes: the RFC 9162 tree's nodes of level 8*l with indices
n*256 .. n*256+255. "The Merkle Tree levels between those expressed by the
tile hashes are reconstructed by hashing the leaves": node (level, index)
with level = 8*l + k is the root of 2**k consecutive hashes of one tile.

tlog-tiles §Partial Tiles: the rightmost tile of each level holds
floor(s / 256**l) mod 256 hashes for a tree of s leaves, and is never hashed
into the level above. khronika stores one row per tile and rewrites the
partial one in place as the tree grows: hashes are only ever added to its
end, so a partial tile of width W is the first W hashes of the stored row,
and a full tile, once written, never changes.

This module is pure (no database); the recorders read and write the rows
(store/ledger.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from khronika.store import merkle

HEIGHT = 8  # tlog-tiles: tiles of height 8
WIDTH = 1 << HEIGHT  # hashes in a full tile
FULL = WIDTH * merkle.HASH_SIZE  # bytes of a full tile

ReadTile = Callable[[int, int], bytes]  # (tile level, tile index) -> hashes, or b""
Write = tuple[int, int, bytes]  # tile level, tile index, the tile's hashes


def tile_root(data: bytes) -> bytes:
    """MTH of 2**k concatenated hashes: of a full tile's 256, one hash of
    the level above."""
    level = [data[i : i + 32] for i in range(0, len(data), 32)]
    while len(level) > 1:
        pairs = iter(level)
        level = [merkle.node_hash(a, b) for a, b in zip(pairs, pairs, strict=True)]
    return level[0]


def grow(leaves: Sequence[bytes], size: int, read: ReadTile) -> list[Write]:
    """The tiles to write when the leaf hashes `leaves` follow `size` leaves.

    Each level's partial right-edge tile is read, extended and written whole;
    every tile completed at one level adds its root to the level above.
    """
    if size < 0:
        raise ValueError(f"tree size must be non-negative, not {size}")
    writes: list[Write] = []
    level, start, new = 0, size, list(leaves)
    while new:
        first, kept = divmod(start, WIDTH)
        prefix = read(level, first)[: kept * 32] if kept else b""
        if len(prefix) != kept * 32:
            raise KeyError(f"tile {level}/{first} holds fewer than {kept} hashes")
        row = prefix + b"".join(new)
        new = []
        for offset in range(0, len(row), FULL):
            data = row[offset : offset + FULL]
            writes.append((level, first + offset // FULL, data))
            if len(data) == FULL:
                new.append(tile_root(data))
        level, start = level + 1, first
    return writes


def node(level: int, index: int, read: ReadTile) -> bytes:
    """Node (level, index) of the tree: a hash of a tile, or the root of
    2**k of its consecutive hashes; KeyError if the tiles do not hold it."""
    tile_level, k = divmod(level, HEIGHT)
    first = index << k
    tile, offset = divmod(first, WIDTH)
    data = read(tile_level, tile)
    hashes = data[offset * 32 : (offset + (1 << k)) * 32]
    if len(hashes) != 32 << k or len(data) % 32:
        raise KeyError((level, index))
    return tile_root(hashes)


def width(level: int, index: int, size: int) -> int:
    """tlog-tiles §Partial Tiles: how many hashes tile level/index holds in a
    tree of `size` leaves (0 if it has none yet)."""
    return max(0, min(WIDTH, (size >> (HEIGHT * level)) - index * WIDTH))


def getter(read: ReadTile) -> merkle.Getter:
    """A `get(level, index)` for merkle.root and the proofs, read from tiles."""
    return lambda level, index: node(level, index, read)
