"""Checking that nobody rewrote the log: events, tree, checkpoints, copies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

import msgspec
from eventsourcing.persistence import Notification

from khronika.store import merkle
from khronika.store.app import Chronicle
from khronika.store.checkpoint import Checkpoint
from khronika.store.codec import decode
from khronika.store.ledger import leaf

PAGE = 1000


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


class Frontier:
    """The roots of the perfect subtrees of a growing tree: O(log n) memory."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []  # (number of leaves, hash)
        self.size = 0

    def add(self, leaf_hash: bytes) -> None:
        count, node = 1, leaf_hash
        while self.stack and self.stack[-1][0] == count:
            _, left = self.stack.pop()
            count, node = count * 2, merkle.node_hash(left, node)
        self.stack.append((count, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return merkle.EMPTY_ROOT
        node = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            node = merkle.node_hash(left, node)
        return node


def verify(
    app: Chronicle,
    checkpoints: Sequence[Checkpoint] = (),
    on_progress: Callable[[int], None] | None = None,
) -> list[Finding]:
    """Recompute every leaf from the stored events and compare; [] if all holds."""
    store = app.store
    stored_size = store.tree_size()
    wanted = {c.size: c for c in checkpoints}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    frontier = Frontier()
    findings: list[Finding] = []
    for page in _pages(app):
        stored_leaves = store.leaves(page[0].id - 1, page[-1].id)
        for n in page:
            position = frontier.size + 1
            if n.id != position:
                return [Finding(f"the log jumps to position {n.id}; an event is "
                                "missing here", position)]  # fmt: skip
            recomputed = leaf(n)
            stored = stored_leaves.get(position - 1)
            if stored is None:
                return [_about(n, "is not in the Merkle tree (added behind its back)")]
            if stored != recomputed:
                return [_about(n, "does not match its leaf in the Merkle tree "
                                  "(its stored bytes were changed)")]  # fmt: skip
            frontier.add(recomputed)
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
        if on_progress is not None:
            on_progress(frontier.size)
    if stored_size > frontier.size:
        return [Finding(f"the Merkle tree has {stored_size} leaves but the log "
                        f"has {frontier.size} events; events were removed",
                        frontier.size + 1)]  # fmt: skip
    if frontier.size and merkle.root(frontier.size, store.node) != frontier.root():
        findings.append(Finding("the stored Merkle tree's inner nodes were altered"))
    for checkpoint in checkpoints:
        findings += _against(checkpoint, frontier.size, roots)
    findings += _copies(app)
    return findings


def _against(
    checkpoint: Checkpoint, size: int, roots: dict[int, bytes]
) -> list[Finding]:
    if checkpoint.size > size:
        return [Finding(f"checkpoint of {checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                        f"covers {checkpoint.size} events, but the log has only "
                        f"{size}: it was truncated", size + 1)]  # fmt: skip
    if roots[checkpoint.size] != checkpoint.root:
        return [Finding(f"the first {checkpoint.size} events do not hash to the "
                        f"root of the checkpoint of "
                        f"{checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ}: the log "
                        "was rewritten")]  # fmt: skip
    return []


def _copies(app: Chronicle) -> list[Finding]:
    return [
        Finding(
            f"archived copy sha256:{sha256} was replaced: its bytes hash to "
            f"sha256:{hashlib.sha256(content).hexdigest()}"
        )  # fmt: skip
        for sha256, content in app.store.copies()
        if hashlib.sha256(content).hexdigest() != sha256
    ]


def _pages(app: Chronicle) -> Iterator[Sequence[Notification]]:
    start = 1
    while True:
        page = app.recorder.select_notifications(start, PAGE)
        if page:
            yield page
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def _about(n: Notification, problem: str) -> Finding:
    try:
        slug: str | None = decode(n.topic, n.state).slug
    except Exception:  # the bytes may be beyond decoding; name the stream id
        slug = str(n.originator_id)
    return Finding(problem, n.id, slug, n.originator_version)
