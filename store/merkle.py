"""An RFC 9162 (Certificate Transparency v2) Merkle tree over stored nodes.

Every node of every perfect subtree is stored under `(level, index)`: level 0
holds leaf hashes, and node `(level, index)` covers leaves
`[index * 2**level, (index + 1) * 2**level)`. Appending a leaf stores it and
each parent it completes, so appends cost O(log n) hashes and reads, and the
hash of any perfect aligned subtree is one lookup. Roots and proofs of any
size up to the stored one are rebuilt from these nodes in O(log n) reads.

The builders take `get(level, index)`, which raises KeyError for a node not
stored (for example, asking about a size beyond the stored leaves). The
verifiers are pure, so auditors can run them offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

Getter = Callable[[int, int], bytes]
Node = tuple[int, int, bytes]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


class NodeStore(Protocol):
    def get(self, level: int, index: int) -> bytes:
        """The stored node; KeyError if absent."""
        ...


class DictStore:
    """A NodeStore in a dict that tracks its own size; for tests and audits."""

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[level, index]

    def extend(self, leaf_hashes: Sequence[bytes]) -> list[Node]:
        new = append(leaf_hashes, self.size, self.get)
        self.nodes.update(((level, index), h) for level, index, h in new)
        self.size += len(leaf_hashes)
        return new


class Frontier:
    """The roots of the perfect subtrees of a growing tree: O(log n) memory."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (number of leaves, hash)
        self.size = 0

    def add(self, leaf_hash: bytes) -> None:
        count, node = 1, leaf_hash
        while self.stack and self.stack[-1][0] == count:
            _, left = self.stack.pop()
            count, node = count * 2, node_hash(left, node)
        self.stack.append((count, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        node = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            node = node_hash(left, node)
        return node


def append(leaves: Sequence[bytes], size: int, get: Getter) -> list[Node]:
    """The nodes to store when the leaf hashes `leaves` follow `size` leaves."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, not {size}")
    new: dict[tuple[int, int], bytes] = {}
    for position, node in enumerate(leaves, start=size):
        if len(node) != 32:
            raise ValueError(f"leaf {position} is not a 32-byte hash")
        level, index = 0, position
        new[level, index] = node
        while index % 2 == 1:  # a right child: its parent is now complete
            left = new.get((level, index - 1)) or get(level, index - 1)
            node = node_hash(left, node)
            level, index = level + 1, index // 2
            new[level, index] = node
    return [(level, index, h) for (level, index), h in new.items()]


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree(start: int, end: int, get: Getter) -> bytes:
    """MTH of leaves [start, end): one read if perfect and aligned, else split."""
    n = end - start
    if start < 0 or n <= 0:
        raise ValueError(f"empty or negative leaf range [{start}, {end})")
    if n & (n - 1) == 0 and start % n == 0:
        return get(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(subtree(start, start + k, get), subtree(start + k, end, get))


def root(size: int, get: Getter) -> bytes:
    """MTH of the first `size` leaves: its perfect subtrees folded right to left."""
    if size < 0:
        raise ValueError(f"tree size must be non-negative, not {size}")
    return subtree(0, size, get) if size else EMPTY_ROOT


def inclusion_proof(index: int, size: int, get: Getter) -> list[bytes]:
    """RFC 9162 PATH(index, D[size]), bottom-up."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is out of range for tree size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(subtree(start + k, end, get))
            end = start + k
        else:
            path.append(subtree(start, start + k, get))
            start += k
    return path[::-1]


def consistency_proof(old_size: int, new_size: int, get: Getter) -> list[bytes]:
    """RFC 9162 PROOF(old_size, D[new_size]); empty if old_size is 0 or new_size."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"need 0 <= old size <= new size, not {old_size}, {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(subtree(start + k, end, get))
            end = start + k
        else:
            proof.append(subtree(start, start + k, get))
            start, m, whole = start + k, m - k, False
    if not whole:  # the old tree is not itself a node of the new one
        proof.append(subtree(start, end, get))
    return proof[::-1]


def _hashes(*values: bytes) -> bool:
    """Whether every value is a 32-byte SHA-256 hash."""
    return all(isinstance(v, bytes) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2; False (never an error) for any bad input.

    The leaf, the root and every proof element must be 32-byte hashes.
    """
    if not 0 <= index < size or not _hashes(leaf, root, *proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
) -> bool:
    """RFC 9162 §2.1.4.2, plus its edge cases, each needing an empty proof.

    False for any bad input; both roots and every proof element must be
    32-byte hashes. Equal sizes need equal roots. Every tree extends the
    empty one, so size 0 only needs `old_root` to be EMPTY_ROOT; `new_root`
    is then unconstrained.
    """
    if not 0 <= old_size <= new_size or not _hashes(old_root, new_root, *proof):
        return False
    if old_size == new_size:
        empty_ok = old_size > 0 or old_root == EMPTY_ROOT
        return not proof and old_root == new_root and empty_ok
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
