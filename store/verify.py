"""Checking that nobody rewrote the log: events, tree, checkpoints, copies."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from eventsourcing.persistence import Notification

from khronika.domain.events import SourceAdded, SourceCopyAttached
from khronika.store import merkle
from khronika.store.app import Chronicle
from khronika.store.attest import origin
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
    frontier = merkle.Frontier()
    edge: dict[tuple[int, int], bytes] = {}  # recomputed right-edge subtree roots
    for page in app.pages():
        size = frontier.size
        stored_leaves = store.leaves(size, size + len(page))
        leaves = [leaf(n) for n in page]
        for n, recomputed in zip(page, leaves, strict=True):
            index = frontier.size
            stored = stored_leaves.get(index)
            if stored is None:
                return [_about(n, "is not in the Merkle tree (added behind its back)")]
            if len(stored[0]) != merkle.HASH_SIZE or stored[1] < 0:
                return [Finding(f"the tree's leaf {index} has no hash or no "
                                "position, or one that is not a number: the "
                                "stored Merkle tree was altered", n.id)]  # fmt: skip
            if stored[1] != n.id:
                missing = min(stored[1], n.id)
                return [Finding(f"the tree's leaf {index} is the event at position "
                                f"{stored[1]}, but the log has position {n.id} "
                                "there: an event is missing or was moved",
                                missing)]  # fmt: skip
            if stored[0] != recomputed:
                return [_about(n, "does not match its leaf in the Merkle tree "
                                  "(its stored bytes were changed)")]  # fmt: skip
            frontier.add(recomputed)
            if frontier.size in wanted:
                roots[frontier.size] = frontier.root()
        nodes = merkle.append(leaves, size, _reader(edge))
        altered = _inner(store, nodes)
        if altered is not None:
            return [altered]
        new = {(level, i): h for level, i, h in nodes}
        edge = {k: new.get(k) or edge[k] for k in _edge(frontier.size)}
        if on_progress is not None:
            on_progress(frontier.size)
    if stored_size > frontier.size:
        (lost,) = store.leaves(frontier.size, frontier.size + 1).values()
        return [Finding(f"the Merkle tree has {stored_size} leaves but the log "
                        f"has {frontier.size} events; events were removed",
                        lost[1])]  # fmt: skip
    findings: list[Finding] = []
    for checkpoint in checkpoints:
        findings += _origin(app, checkpoint) or _against(
            checkpoint, frontier.size, roots
        )
    findings += _copies(app)
    return findings


def _reader(nodes: dict[tuple[int, int], bytes]) -> merkle.Getter:
    return lambda level, index: nodes[level, index]


def _edge(size: int) -> list[tuple[int, int]]:
    """(level, index) of the perfect subtrees a tree of `size` leaves ends in."""
    keys, offset = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, offset >> level))
            offset += 1 << level
    return keys


def _inner(store: Any, nodes: list[merkle.Node]) -> Finding | None:
    """The first stored inner node that differs from its recomputed value."""
    by_level: dict[int, dict[int, bytes]] = {}
    for level, index, h in nodes:
        if level:
            by_level.setdefault(level, {})[index] = h
    for level, expected in sorted(by_level.items()):
        stored = store.nodes(level, min(expected), max(expected) + 1)
        for index, h in sorted(expected.items()):
            if stored.get(index) != h:
                first, last = index << level, ((index + 1) << level) - 1
                return Finding(f"the stored Merkle tree's inner node at level "
                               f"{level}, index {index} (over positions "
                               f"{first + 1} to {last + 1}) was altered")  # fmt: skip
    return None


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


def _origin(app: Chronicle, checkpoint: Checkpoint) -> list[Finding]:
    mine = origin(app)
    if checkpoint.origin == mine:
        return []
    return [Finding(f"the checkpoint of {checkpoint.timestamp:%Y-%m-%dT%H:%M:%SZ} "
                    f"is for {checkpoint.origin}, but this store is {mine}: it is "
                    "another store's checkpoint, or this store's id "
                    "(khronika_meta.store_id) was changed")]  # fmt: skip


def _copies(app: Chronicle) -> list[Finding]:
    findings = [
        Finding(
            f"archived copy sha256:{sha256} was replaced: its bytes hash to "
            f"sha256:{hashlib.sha256(content).hexdigest()}"
        )  # fmt: skip
        for sha256, content in app.store.copies()
        if hashlib.sha256(content).hexdigest() != sha256
    ]
    named: dict[str, str] = {}  # every copy an event stored, with its source
    for _, event in app.read_events(SourceAdded, SourceCopyAttached):
        if isinstance(event, SourceCopyAttached):
            named.setdefault(event.sha256, event.slug)
        elif (
            isinstance(event, SourceAdded) and event.copy_stored and event.doc.sha256
        ):  # else a hash, no copy yet
            named.setdefault(event.doc.sha256, event.slug)
    for sha256, slug in named.items():
        if app.store.get_copy(sha256) is None:
            findings.append(Finding(
                f"source '{slug}' names the archived copy sha256:{sha256}, but "
                "the store has no copy by that hash: it was deleted or replaced"
            ))  # fmt: skip
    return findings


def _about(n: Notification, problem: str) -> Finding:
    try:
        slug: str | None = decode(n.topic, n.state).slug
    except Exception:  # the bytes may be beyond decoding; name the stream id
        slug = str(n.originator_id)
    return Finding(problem, n.id, slug, n.originator_version)
