"""A mirror: a copy of a served chronicle, checked at every step.

It reads the original as any tlog-tiles client would: the signed
checkpoint, the level-0 hash tiles for the leaves it lacks, and khronika's
own event bundles (each event whole, values too). Before writing anything it
checks that its own log, extended by the new leaf hashes, has the signed
root: that the new checkpoint is consistent with everything it holds. Then
it appends the same event bytes a batch (one tile) at a time, each event
checked against its leaf, with the archived copies they name, fetched by
hash and checked. Killed midway, it resumes from its own log's size.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from khronika.domain.errors import KhronikaError, ValidationError
from khronika.domain.events import Redacted, SourceAdded, SourceCopyAttached
from khronika.domain.ids import stream_id
from khronika.domain.parse import MAX_DOCUMENT_BYTES
from khronika.store import attest, copies, files, merkle, redaction, tiles
from khronika.store import checkpoint as cp
from khronika.store.app import MIRROR_OF, Chronicle
from khronika.store.codec import decode
from khronika.store.erasure import Erasure

# a stored event at most: a document, its values beside its envelope, framing
EVENT_MAX = 2 * MAX_DOCUMENT_BYTES + 65_536


class MirrorError(KhronikaError):
    """The original cannot be followed, or is not consistent with the mirror."""


def fetch(url: str, cap: int) -> bytes:
    """The answer to GET `url`; MirrorError past `cap` bytes or on a refusal."""
    with _get(url) as answer:
        data: bytes = answer.read(cap + 1)
    if len(data) > cap:
        raise MirrorError(f"GET {url}: the answer is over {cap:,} bytes")
    return data


def fetch_copy(app: Chronicle, url: str, sha256: str) -> None:
    """Stream the archived copy at `url` into the mirror's store, a chunk at
    a time, checked against its Content-Length, the cap and its hash."""
    with _get(url) as answer:
        size = int(answer.headers.get("Content-Length") or -1)
        if size < 0:
            raise MirrorError(f"GET {url}: the answer gives no Content-Length")
        if size > files.COPY_MAX:
            raise MirrorError(f"GET {url}: the answer is over {files.COPY_MAX:,} bytes")
        what = f"GET {url}"
        chunks = copies.chunks_of(answer, what)
        try:
            app.store.store_copy(copies.Hashed(chunks, size, what, sha256))
        except ValidationError:
            raise MirrorError(
                f"the archived copy {sha256} does not hash to its name"
            ) from None
        except files.FileError as e:
            raise MirrorError(str(e)) from None


@contextmanager
def _get(url: str) -> Iterator[Any]:
    """The open answer to GET `url`; MirrorError on a refusal or no answer."""
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            yield answer
    except urllib.error.HTTPError as e:
        with e:
            detail = e.read().decode(errors="replace")[:300]
        raise MirrorError(f"GET {url}: {e.code} {detail}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise MirrorError(f"GET {url}: no answer ({e})") from None


def open_mirror(location: str, url: str, origin: str) -> Chronicle:
    """The mirror store at `location`, made now if it is not there yet."""
    store_id = origin.removeprefix("khronika/")
    if not Chronicle.is_store(location):
        identity = {"store_id": store_id, MIRROR_OF: url}
        return Chronicle(location, create=True, identity=identity)
    app = Chronicle(location)
    if app.origin != origin or MIRROR_OF not in app.meta:
        app.close()
        raise MirrorError(
            f"{location} is not a mirror of {origin}: mirror into a new store"
        )
    return app


def _frontier(app: Chronicle) -> merkle.Frontier:
    """The roots of the perfect subtrees of the mirror's own tree."""
    frontier = merkle.Frontier()
    size, start = app.store.tree_size(), 0
    for bit in reversed(range(size.bit_length())):
        count = 1 << bit
        if size & count:
            frontier.stack.append((count, app.store.node(bit, start >> bit)))
            start += count
    frontier.size = size
    return frontier


def _leaf_hashes(url: str, start: int, size: int) -> list[bytes]:
    """The level-0 hashes of leaves [start, size), from the served tiles."""
    found: list[bytes] = []
    for index in range(start // tiles.WIDTH, -(-size // tiles.WIDTH)):
        width = min(tiles.WIDTH, size - index * tiles.WIDTH)
        data = fetch(f"{url}/{tiles.Tile(0, index, width).path()}", 32 * width)
        if len(data) != 32 * width:
            raise MirrorError(f"tile 0/{index} is {len(data)} bytes, not {32 * width}")
        found += tiles.split(data)
    skip = start - (start // tiles.WIDTH) * tiles.WIDTH
    return found[skip:]


def follow(
    app: Chronicle,
    url: str,
    note: str,
    head: cp.Checkpoint,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Copy the original's events up to `head` (its checkpoint `note`, already
    verified); how many were added, and how many of them were redactions.
    MirrorError, with nothing written, if `head` is not consistent with the
    mirror's log."""
    have = app.store.tree_size()
    kept = attest.latest(app)
    was = (
        f"last checkpoint (size {cp.parse(kept).size}, root "
        f"{_b64(cp.parse(kept).root)})" if kept else "log"
    )  # fmt: skip
    if head.size < have:
        raise _fork(url, head, have, was)
    leaves = _leaf_hashes(url, have, head.size)
    frontier = _frontier(app)
    for leaf in leaves:
        frontier.add(leaf)
    if frontier.root() != head.root:
        raise _fork(url, head, have, was)
    added = redactions = 0
    while have + added < head.size:
        start = have + added
        index = start // tiles.WIDTH
        width = min(tiles.WIDTH, head.size - index * tiles.WIDTH)
        path = tiles.Tile(tiles.EVENTS, index, width).path()
        bundle = fetch(f"{url}/{path}", width * EVENT_MAX)
        events = tiles.read_events_bundle(bundle)[start - index * tiles.WIDTH :]
        _check(events, leaves[added : added + len(events)], start)
        _copies(app, url, events)
        redactions += _insert(app, events)
        added += len(events)
        if on_progress is not None:
            on_progress(have + added)
    attest.publish(app, note)
    return added, redactions


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def _fork(url: str, head: cp.Checkpoint, have: int, was: str) -> MirrorError:
    return MirrorError(
        f"the checkpoint {url} serves (size {head.size}, root {_b64(head.root)}) "
        f"is not consistent with this mirror's {was}, of {have} events: the "
        "original was rewritten or shows a forked log. Nothing was copied; "
        "this mirror keeps what it had, as evidence"
    )


Entries = Sequence[tiles.StoredEntry]


def _check(
    events: Sequence[tiles.StoredEntry], leaves: Sequence[bytes], at: int
) -> None:
    if len(events) != len(leaves):
        raise MirrorError(f"the event bundle from leaf {at} holds {len(events)} events")
    for i, (event, leaf) in enumerate(zip(events, leaves, strict=True), start=at):
        if merkle.leaf_hash(tiles.entry(event)) != leaf:
            raise MirrorError(f"the event of leaf {i} does not hash to its leaf")


def _copies(app: Chronicle, url: str, events: Sequence[tiles.StoredEntry]) -> None:
    """Fetch and check the archived copies these events say are stored."""
    for e in events:
        event = decode(e.topic, e.state)
        sha256 = ""
        if isinstance(event, SourceAdded) and event.copy_stored:
            sha256 = event.doc.sha256 or ""
        elif isinstance(event, SourceCopyAttached):
            sha256 = event.sha256
        if not sha256 or app.store.copy_size(sha256) is not None:
            continue
        fetch_copy(app, f"{url}/copies/{sha256}", sha256)


def _insert(app: Chronicle, events: Entries) -> int:
    """Append the events as they are; a redaction alone, erasing in the
    mirror's copy what it erased in the original, in its own transaction.
    How many redactions there were."""
    run: list[tiles.StoredEntry] = []
    redactions = 0
    for e in [*events, None]:
        event = None if e is None else decode(e.topic, e.state)
        if e is not None and not isinstance(event, Redacted):
            run.append(e)
            continue
        if run:
            app.store.insert_events([_stored(r) for r in run])
            run = []
        if e is not None and isinstance(event, Redacted):
            app.store.insert_events([_stored(e)], erase=_erasure(app, event))
            redactions += 1
    return redactions


def _erasure(app: Chronicle, event: Redacted) -> Erasure:
    """What `event` erased, as this mirror holds it: planned on its own copy
    of the record, and the same values the redaction names."""
    history = app.store.stream_notifications(stream_id(event.kind, event.slug))
    erased, erasure = redaction.plan(event.slug, history, event.fields, event.reason)
    if [(x.position, x.pointer) for x in erased] != [
        (x.position, x.pointer) for x in event.erased
    ]:
        raise MirrorError(
            f"the redaction of '{event.slug}' names values this mirror does not "
            "hold where it says: its copy differs from the original's"
        )
    return erasure


def _stored(e: tiles.StoredEntry) -> StoredEvent:
    return StoredEvent(
        originator_id=UUID(str(e.stream)),
        originator_version=e.version,
        topic=e.topic,
        state=e.state,
    )
