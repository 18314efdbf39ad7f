"""The RFC 9162 Merkle tree: stored-node roots and proofs against the RFC."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from khronika.store import merkle
from khronika.store.merkle import (
    EMPTY_ROOT,
    DictStore,
    NodeStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    subtree,
    verify_consistency,
    verify_inclusion,
)

MAX = 33
DATA = [f"leaf {i}".encode() for i in range(1024)]

# The RFC 9162 §2.1 definitions, written recursively over raw leaf data.


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = split(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def rfc_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = split(len(d))
    if m < k:
        return rfc_path(m, d[:k]) + [mth(d[k:])]
    return rfc_path(m - k, d[k:]) + [mth(d[:k])]


def rfc_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = split(len(d))
    if m <= k:
        return rfc_subproof(m, d[:k], b) + [mth(d[k:])]
    return rfc_subproof(m - k, d[k:], False) + [mth(d[:k])]


def rfc_proof(m: int, d: list[bytes]) -> list[bytes]:
    return rfc_subproof(m, d, True)


@cache
def built(n: int) -> DictStore:
    store = DictStore()
    store.extend([leaf_hash(x) for x in DATA[:n]])
    return store


def get(n: int = MAX) -> Callable[[int, int], bytes]:
    return built(n).get


def flip(b: bytes, byte: int = 0, mask: int = 1) -> bytes:
    return b[:byte] + bytes([b[byte] ^ mask]) + b[byte + 1 :]


class CountingStore(DictStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().get(level, index)


# Known answers and hand-written trees.


def test_hash_functions_have_the_rfc_prefixes_and_known_answers() -> None:
    assert EMPTY_ROOT.hex().startswith("e3b0c44298fc1c149afbf4c8996fb924")
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()


def _hand_root(n: int) -> bytes:
    h = [leaf_hash(x) for x in DATA[:7]]
    n01, n23, n45 = node_hash(h[0], h[1]), node_hash(h[2], h[3]), node_hash(h[4], h[5])
    return {
        1: h[0],
        2: n01,
        3: node_hash(n01, h[2]),
        4: node_hash(n01, n23),
        5: node_hash(node_hash(n01, n23), h[4]),
        7: node_hash(node_hash(n01, n23), node_hash(n45, h[6])),
    }[n]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7])
def test_root_matches_a_tree_written_out_by_hand(n: int) -> None:
    assert root(n, get()) == _hand_root(n)


def test_dict_store_is_a_node_store_that_raises_key_error_when_absent() -> None:
    store: NodeStore = DictStore()
    with pytest.raises(KeyError):
        store.get(0, 0)


def test_empty_tree_has_the_empty_root() -> None:
    assert root(0, DictStore().get) == EMPTY_ROOT


# Exhaustive comparison with the RFC definitions.


@pytest.mark.parametrize("n", range(1, MAX + 1))
def test_stored_node_root_equals_rfc_mth_for_every_size(n: int) -> None:
    assert root(n, get()) == mth(DATA[:n])  # truncated: MAX leaves are stored
    assert root(n, get(n)) == mth(DATA[:n])


@pytest.mark.parametrize("n", range(1, MAX + 1))
def test_inclusion_proof_equals_rfc_path_and_verifies(n: int) -> None:
    tree_root = mth(DATA[:n])
    for i in range(n):
        proof = inclusion_proof(i, n, get())
        assert proof == rfc_path(i, DATA[:n])
        assert verify_inclusion(leaf_hash(DATA[i]), i, n, proof, tree_root)


@pytest.mark.parametrize("n", range(1, MAX + 1))
def test_consistency_proof_equals_rfc_proof_and_verifies(n: int) -> None:
    for m in range(1, n + 1):
        proof = consistency_proof(m, n, get())
        assert proof == rfc_proof(m, DATA[:n])
        assert verify_consistency(m, n, mth(DATA[:m]), mth(DATA[:n]), proof)


@pytest.mark.parametrize(("start", "end"), [(0, 1), (0, 6), (3, 11), (5, 6), (8, 33)])
def test_subtree_hashes_any_leaf_range(start: int, end: int) -> None:
    assert subtree(start, end, get()) == mth(DATA[start:end])


# Independent implementation: pymerkle with its default (RFC 9162) hashing.


@pytest.fixture(scope="module")
def pymerkle_tree() -> Any:
    pymerkle = pytest.importorskip("pymerkle")
    tree = pymerkle.InmemoryTree(algorithm="sha256")  # 0x00/0x01 prefixes on
    for x in DATA[:MAX]:
        tree.append_entry(x)
    return tree


def test_pymerkle_agrees_on_every_root(pymerkle_tree: Any) -> None:
    for n in range(MAX + 1):
        assert pymerkle_tree.get_root(n) == root(n, get())


def test_pymerkle_inclusion_path_is_the_rfc_path_after_its_leaf(
    pymerkle_tree: Any,
) -> None:
    for n in range(1, MAX + 1):
        for i in range(n):
            theirs = pymerkle_tree.prove_inclusion(i + 1, n).path  # 1-based
            assert theirs == [leaf_hash(DATA[i]), *inclusion_proof(i, n, get())]


def test_our_consistency_proofs_link_pymerkle_roots(pymerkle_tree: Any) -> None:
    # pymerkle's consistency proofs have their own shape, so compare via roots.
    for n in range(1, MAX + 1):
        for m in range(1, n + 1):
            old, new = pymerkle_tree.get_root(m), pymerkle_tree.get_root(n)
            assert verify_consistency(m, n, old, new, consistency_proof(m, n, get()))


# Storage layout and append.


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 8, 33, 100])
def test_stores_every_node_of_every_perfect_subtree_and_nothing_else(n: int) -> None:
    expected = {(lv, i) for lv in range(8) for i in range(n >> lv)}
    assert set(built(n).nodes) == expected


@pytest.mark.parametrize(
    "batches",
    [[1] * 40, [40], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 1], [7, 0, 8, 25], [2] * 20],
)
def test_batched_appends_store_the_same_nodes_as_single_appends(
    batches: list[int],
) -> None:
    store, done = DictStore(), 0
    for b in batches:
        new = store.extend([leaf_hash(x) for x in DATA[done : done + b]])
        assert len({(lv, i) for lv, i, _ in new}) == len(new)
        done += b
    assert store.nodes == built(done).nodes


def test_append_returns_nodes_in_an_insertable_order() -> None:
    # Each node's children come before it, so a bulk insert is never dangling.
    new = merkle.append([leaf_hash(x) for x in DATA[:16]], 0, DictStore().get)
    seen: set[tuple[int, int]] = set()
    for level, index, _ in new:
        if level:
            assert {(level - 1, 2 * index), (level - 1, 2 * index + 1)} <= seen
        seen.add((level, index))


def test_single_appends_read_at_most_log2_n_nodes_each() -> None:
    store, n = CountingStore(), 1000
    for x in DATA[:n]:
        before = store.reads
        store.extend([leaf_hash(x)])
        assert store.reads - before <= max(1, math.ceil(math.log2(store.size)))
    assert store.reads < 2 * n  # amortised: about one read per append


@pytest.mark.parametrize(("size", "batch"), [(0, 500), (511, 1), (511, 300), (700, 7)])
def test_a_batch_reads_only_the_right_edge_of_the_existing_tree(
    size: int, batch: int
) -> None:
    store = CountingStore()
    store.extend([leaf_hash(x) for x in DATA[:size]])
    store.reads = 0
    store.extend([leaf_hash(x) for x in DATA[size : size + batch]])
    assert store.reads <= max(1, math.ceil(math.log2(size + 1)))


@pytest.mark.parametrize("n", [1, 2, 5, 64, 513, 1000, 1023])
def test_roots_and_proofs_read_o_log_n_nodes(n: int) -> None:
    store = CountingStore()
    store.extend([leaf_hash(x) for x in DATA[:n]])
    bound = 2 * math.ceil(math.log2(n)) + 2
    for action in (
        lambda: root(n, store.get),
        lambda: inclusion_proof(0, n, store.get),
        lambda: inclusion_proof(n - 1, n, store.get),
        lambda: inclusion_proof(n // 3, n, store.get),
        lambda: consistency_proof(max(1, n // 3), n, store.get),
    ):
        store.reads = 0
        action()
        assert store.reads <= bound


def test_append_rejects_a_leaf_that_is_not_a_hash() -> None:
    with pytest.raises(ValueError, match="leaf 2 is not a 32-byte hash"):
        built(2).extend([b"raw data"])


def test_reading_beyond_the_stored_leaves_raises_key_error() -> None:
    with pytest.raises(KeyError):
        root(MAX + 1, get())


# Edge cases.


@pytest.mark.parametrize(
    ("index", "size", "match"),
    [
        (0, 0, "leaf index 0 is out of range for tree size 0"),
        (5, 5, "leaf index 5 is out of range for tree size 5"),
        (-1, 5, "leaf index -1 is out of range"),
    ],
)
def test_inclusion_proof_of_a_missing_leaf_is_refused(
    index: int, size: int, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        inclusion_proof(index, size, get())


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 3)])
def test_consistency_proof_needs_old_size_at_most_new_size(old: int, new: int) -> None:
    with pytest.raises(ValueError, match="old size <= new size"):
        consistency_proof(old, new, get())


def test_negative_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="tree size must be non-negative, not -1"):
        root(-1, get())
    with pytest.raises(ValueError, match="tree size must be non-negative, not -1"):
        merkle.append([], -1, get())


@pytest.mark.parametrize("n", [0, 1, 6, 8])
def test_consistency_of_equal_sizes_is_an_empty_proof_and_needs_equal_roots(
    n: int,
) -> None:
    r = root(n, get())
    assert consistency_proof(n, n, get()) == []
    assert verify_consistency(n, n, r, r, [])
    assert not verify_consistency(n, n, r, flip(r), [])
    assert not verify_consistency(n, n, r, r, [r])


@pytest.mark.parametrize("n", [0, 1, 7])
def test_every_tree_is_consistent_with_the_empty_tree_by_an_empty_proof(
    n: int,
) -> None:
    new = root(n, get())
    assert consistency_proof(0, n, get()) == []
    assert verify_consistency(0, n, EMPTY_ROOT, new, [])
    assert not verify_consistency(0, n, EMPTY_ROOT, new, [new])
    assert not verify_consistency(0, n, flip(EMPTY_ROOT), new, [])


def test_a_proper_consistency_proof_is_never_empty() -> None:
    assert not verify_consistency(3, 7, root(3, get()), root(7, get()), [])


# Verification fails for tampered inputs. A size is bound to its proof only
# through its root (RFC 9162 verifies against a tree head), so a wrong size is
# tested with that size's own root, or with a size whose tree has another shape.

N, IX = 13, 6
LEAF = leaf_hash(DATA[IX])
PATH = inclusion_proof(IX, N, get())
ROOT = root(N, get())

Inclusion = tuple[bytes, int, int, list[bytes], bytes]

INCLUSION_TAMPERS: dict[str, Inclusion] = {
    "leaf bit flipped": (flip(LEAF, 31, 0x80), IX, N, PATH, ROOT),
    "root bit flipped": (LEAF, IX, N, PATH, flip(ROOT)),
    "index - 1": (LEAF, IX - 1, N, PATH, ROOT),
    "index + 1": (LEAF, IX + 1, N, PATH, ROOT),
    "index out of range": (LEAF, N, N, PATH, ROOT),
    "size - 1 with its root": (LEAF, IX, N - 1, PATH, root(N - 1, get())),
    "size + 1 with its root": (LEAF, IX, N + 1, PATH, root(N + 1, get())),
    "size of a different shape": (LEAF, IX, 7, PATH, ROOT),
    "size of a deeper tree": (LEAF, IX, 17, PATH, ROOT),
    "truncated proof": (LEAF, IX, N, PATH[:-1], ROOT),
    "extra proof element": (LEAF, IX, N, [*PATH, ROOT], ROOT),
    "reordered proof": (LEAF, IX, N, PATH[::-1], ROOT),
    "empty proof": (LEAF, IX, N, [], ROOT),
    **{
        f"proof element {k} bit flipped": (
            LEAF,
            IX,
            N,
            [*PATH[:k], flip(PATH[k], 7, 4), *PATH[k + 1 :]],
            ROOT,
        )
        for k in range(len(PATH))
    },
}


def test_untampered_inclusion_proof_verifies() -> None:
    assert verify_inclusion(LEAF, IX, N, PATH, ROOT)


@pytest.mark.parametrize("case", INCLUSION_TAMPERS.values(), ids=INCLUSION_TAMPERS)
def test_tampered_inclusion_proof_fails(case: Inclusion) -> None:
    assert not verify_inclusion(*case)


M = 6
OLD = root(M, get())
CPROOF = consistency_proof(M, N, get())

Consistency = tuple[int, int, bytes, bytes, list[bytes]]

CONSISTENCY_TAMPERS: dict[str, Consistency] = {
    "old root bit flipped": (M, N, flip(OLD), ROOT, CPROOF),
    "new root bit flipped": (M, N, OLD, flip(ROOT), CPROOF),
    "swapped roots": (M, N, ROOT, OLD, CPROOF),
    "swapped sizes and roots": (N, M, ROOT, OLD, CPROOF),
    "old size - 1 with its root": (M - 1, N, root(M - 1, get()), ROOT, CPROOF),
    "old size + 1 with its root": (M + 1, N, root(M + 1, get()), ROOT, CPROOF),
    "new size + 1 with its root": (M, N + 1, OLD, root(N + 1, get()), CPROOF),
    "old size of a different shape": (M + 2, N, OLD, ROOT, CPROOF),
    "new size of a deeper tree": (M, 17, OLD, ROOT, CPROOF),
    "truncated proof": (M, N, OLD, ROOT, CPROOF[:-1]),
    "extra proof element": (M, N, OLD, ROOT, [*CPROOF, OLD]),
    "reordered proof": (M, N, OLD, ROOT, CPROOF[::-1]),
    **{
        f"proof element {k} bit flipped": (
            M,
            N,
            OLD,
            ROOT,
            [*CPROOF[:k], flip(CPROOF[k], 3, 0x10), *CPROOF[k + 1 :]],
        )
        for k in range(len(CPROOF))
    },
}


def test_untampered_consistency_proof_verifies() -> None:
    assert verify_consistency(M, N, OLD, ROOT, CPROOF)


@pytest.mark.parametrize("case", CONSISTENCY_TAMPERS.values(), ids=CONSISTENCY_TAMPERS)
def test_tampered_consistency_proof_fails(case: Consistency) -> None:
    assert not verify_consistency(*case)


def test_a_proof_longer_than_the_tree_is_deep_fails_even_if_it_hashes_right() -> None:
    # Without RFC 9162's "if sn is 0, fail" step the inclusion one would verify.
    leaf, extra = leaf_hash(DATA[0]), leaf_hash(DATA[1])
    assert not verify_inclusion(leaf, 0, 1, [extra], node_hash(extra, leaf))
    old, new = root(2, get()), root(3, get())
    longer = [*consistency_proof(2, 3, get()), extra]
    assert not verify_consistency(2, 3, old, node_hash(extra, new), longer)


def test_power_of_two_old_size_uses_the_old_root_implicitly() -> None:
    proof = consistency_proof(8, N, get())
    assert verify_consistency(8, N, root(8, get()), ROOT, proof)
    assert not verify_consistency(8, N, flip(root(8, get())), ROOT, proof)


# Properties over random trees.

BIG = 1024


def _mutate(proof: list[bytes], rnd: random.Random) -> list[bytes]:
    k, byte = rnd.randrange(len(proof)), rnd.randrange(32)
    return [*proof[:k], flip(proof[k], byte, rnd.randrange(1, 256)), *proof[k + 1 :]]


@settings(max_examples=150, deadline=None)
@given(st.data(), st.randoms(use_true_random=False))
def test_random_inclusion_proofs_verify_and_any_byte_change_breaks_them(
    data: st.DataObject, rnd: random.Random
) -> None:
    size = data.draw(st.integers(2, BIG), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(index, size, get(BIG))
    tree_root = root(size, get(BIG))
    leaf = leaf_hash(DATA[index])
    assert verify_inclusion(leaf, index, size, proof, tree_root)
    assert not verify_inclusion(leaf, index, size, _mutate(proof, rnd), tree_root)


@settings(max_examples=150, deadline=None)
@given(st.data(), st.randoms(use_true_random=False))
def test_random_consistency_proofs_verify_and_any_byte_change_breaks_them(
    data: st.DataObject, rnd: random.Random
) -> None:
    new = data.draw(st.integers(2, BIG), label="new size")
    old = data.draw(st.integers(1, new - 1), label="old size")
    proof = consistency_proof(old, new, get(BIG))
    old_root, new_root = root(old, get(BIG)), root(new, get(BIG))
    assert verify_consistency(old, new, old_root, new_root, proof)
    assert not verify_consistency(old, new, old_root, new_root, _mutate(proof, rnd))


# Only 32-byte hashes: inputs whose lengths merely line up are refused.

SHORT, LONG = b"\x07" * 31, b"\x07" * 33


@pytest.mark.parametrize("bad", [b"", SHORT, LONG], ids=["empty", "31", "33"])
def test_inclusion_refuses_a_leaf_root_or_element_that_is_not_32_bytes(
    bad: bytes,
) -> None:
    assert not verify_inclusion(bad, 0, 1, [], bad)  # leaf == root, size 1
    leaf = leaf_hash(DATA[0])
    assert not verify_inclusion(leaf, 0, 2, [bad], node_hash(leaf, bad))
    assert not verify_inclusion(LEAF, IX, N, PATH, ROOT + bad[:1] if bad else bad)


@pytest.mark.parametrize("bad", [b"", SHORT, LONG], ids=["empty", "31", "33"])
def test_consistency_refuses_roots_or_elements_that_are_not_32_bytes(
    bad: bytes,
) -> None:
    assert not verify_consistency(3, 3, bad, bad, [])  # equal sizes, equal roots
    old = root(1, get())
    new = node_hash(old, bad)  # a "tree" of 2 whose right child is `bad`
    assert not verify_consistency(1, 2, old, new, [bad])
    assert not verify_consistency(M, N, OLD, ROOT, [*CPROOF[:-1], bad])
