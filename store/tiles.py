"""The log served as C2SP tlog-tiles: hash tiles and entry bundles.

tlog-tiles §Merkle Tree: the n-th tile at level l holds, for i in 0..255,
MTH(D[(n*256 + i) * 256**l : (n*256 + i + 1) * 256**l]). The tree is stored
as these very tiles (store/tiletree.py), so a full tile is served as its
stored bytes, and a partial tile (`.p/W`), which exists once the tree has
(n*256 + W) * 256**l leaves, as the first W hashes of its stored row.

tlog-tiles §Log entries: an entry bundle is the tile's entries, each a
big-endian uint16 length and the entry, where an entry is what the leaf
hashes (RFC 9162 §2.1.1: SHA-256(0x00 || entry)): khronika's canonical
bytes of the event (store/ledger.canonical). A signed event's entry holds
its envelope only, kept small; an event stored before signing may exceed
65,535 bytes, and its bundle is then served only in khronika's own event
bundle (`EVENTS`), which also carries each event's values, for mirrors.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from uuid import UUID

import msgspec
from eventsourcing.persistence import Notification

from khronika.domain.errors import KhronikaError, NotFoundError, StoreError
from khronika.store import signing, tiletree
from khronika.store.app import Chronicle
from khronika.store.ledger import canonical

WIDTH = tiletree.WIDTH  # hashes in a full tile (tile height 8)
HEIGHT = tiletree.HEIGHT
ENTRY_MAX = signing.ENTRY_MAX  # an entry bundle's uint16 length prefix
EVENTS = "khronika-events"  # khronika's own bundle: tile/khronika-events/<N>
_INDEX = re.compile(r"(?:x[0-9]{3}/)*[0-9]{3}")
_LEVEL = re.compile(r"0|[1-9][0-9]?")
_WIDTH = re.compile(r"[1-9][0-9]{0,2}")


class TooLongError(KhronikaError):
    """An entry longer than an entry bundle's uint16 length prefix allows."""


class Tile(msgspec.Struct, frozen=True):
    level: int | str  # a hash tile's level, or "entries" / EVENTS
    index: int
    width: int  # 1..256; 256 for a full tile

    @property
    def full(self) -> bool:
        return self.width == WIDTH

    def path(self) -> str:
        """tlog-tiles §Merkle Tree: tile/<L>/<N>[.p/<W>], N in 3-digit parts."""
        digits = f"{self.index:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        parts = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        name = "/".join([*(f"x{p}" for p in parts[:-1]), parts[-1]])
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{self.level}/{name}{suffix}"


def parse(path: str) -> Tile:
    """A tile path as the spec writes it; NotFoundError for any other."""
    head, _, rest = path.partition("/")
    body, dot, width_text = rest.partition(".p/")
    if head not in ("entries", EVENTS) and not _LEVEL.fullmatch(head):
        raise NotFoundError("tile", path)
    if head.isdigit() and int(head) > 63:
        raise NotFoundError("tile", path)
    if not _INDEX.fullmatch(body) or (dot and not _WIDTH.fullmatch(width_text)):
        raise NotFoundError("tile", path)
    width = int(width_text) if dot else WIDTH
    index = int(body.replace("x", "").replace("/", ""))
    level: int | str = int(head) if head.isdigit() else head
    tile = Tile(level, index, width)
    if width > WIDTH or tile.path() != f"tile/{path}":  # one spelling per tile
        raise NotFoundError("tile", path)
    return tile


def _leaves(tile: Tile) -> tuple[int, int]:
    """The range of leaves a level-0 tile (or bundle) covers."""
    start = tile.index * WIDTH
    return start, start + tile.width


def exists(tile: Tile, size: int) -> bool:
    """Whether a tree of `size` leaves has this tile (tlog-tiles §Partial)."""
    level = tile.level if isinstance(tile.level, int) else 0
    covered: int = (tile.index * WIDTH + tile.width) * WIDTH**level
    return covered <= size


def hashes(app: Chronicle, tile: Tile) -> bytes:
    """A hash tile's bytes: the stored tile (store/tiletree.py), whose
    first `width` hashes a partial tile of that width is."""
    assert isinstance(tile.level, int)
    size = app.store.tree_size()
    if not exists(tile, size):
        raise NotFoundError("tile", tile.path(), note=f"the log has {size} leaves")
    data = app.store.tile(tile.level, tile.index)[: 32 * tile.width]
    if len(data) != 32 * tile.width:
        raise StoreError(f"the stored tile {tile.level}/{tile.index} holds "
                         f"{len(data)} bytes, fewer than its {tile.width} hashes: "
                         "the stored Merkle tree was altered")  # fmt: skip
    return data


class StoredEntry(msgspec.Struct, frozen=True, array_like=True):
    """One stored event as khronika's own bundle carries it."""

    position: int
    topic: str
    stream: UUID
    version: int
    state: bytes  # the whole stored state: envelope, newline, values


def events(app: Chronicle, tile: Tile) -> Iterator[StoredEntry]:
    """The stored events of a level-0 tile's leaves, in leaf order."""
    size = app.store.tree_size()
    if not exists(tile, size):
        raise NotFoundError("tile", tile.path(), note=f"the log has {size} leaves")
    start, stop = _leaves(tile)
    leaves = app.store.leaves(start, stop)
    positions = [leaves[i][1] for i in range(start, stop)]
    found: dict[int, Notification] = {}
    first = positions[0]
    while first <= positions[-1]:
        page = app.recorder.select_notifications(first, positions[-1] - first + 1)
        if not page:
            break
        found.update((n.id, n) for n in page)
        first = page[-1].id + 1
    for position in positions:
        n = found[position]
        stream = UUID(str(n.originator_id))
        yield StoredEntry(position, n.topic, stream, n.originator_version, n.state)


def entry(event: StoredEntry) -> bytes:
    """What the event's leaf hashes: its canonical bytes (store/ledger)."""
    return canonical(event.topic, event.stream, event.version, event.state)


def entry_bundle(app: Chronicle, tile: Tile) -> bytes:
    """tlog-tiles §Log entries: uint16-length-prefixed entries."""
    out = []
    for event in events(app, tile):
        data = entry(event)
        if len(data) > ENTRY_MAX:
            raise TooLongError(
                f"the entry at position {event.position} is {len(data):,} bytes, "
                f"over the {ENTRY_MAX:,} an entry bundle's length prefix allows "
                "(an event stored before signing, whose leaf covers its whole "
                f"state); this tile's entries are served at "
                f"{Tile(EVENTS, tile.index, tile.width).path()}"
            )
        out += [struct.pack(">H", len(data)), data]
    return b"".join(out)


_encoder = msgspec.msgpack.Encoder()


def events_bundle(app: Chronicle, tile: Tile) -> bytes:
    """khronika's own bundle: each stored event whole, as a uint32-length-
    prefixed msgpack array (position, topic, stream, version, state)."""
    out = []
    for event in events(app, tile):
        data = _encoder.encode(event)
        out += [struct.pack(">I", len(data)), data]
    return b"".join(out)


def read_events_bundle(data: bytes) -> list[StoredEntry]:
    """The events in khronika's own bundle; KhronikaError if malformed."""
    decoder = msgspec.msgpack.Decoder(StoredEntry)
    found, at = [], 0
    try:
        while at < len(data):
            (length,) = struct.unpack_from(">I", data, at)
            found.append(decoder.decode(data[at + 4 : at + 4 + length]))
            at += 4 + length
    except (struct.error, msgspec.DecodeError) as e:
        raise KhronikaError(f"a malformed event bundle: {e}") from None
    if at != len(data):
        raise KhronikaError("a malformed event bundle: its last event is cut short")
    return found


def read_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a tlog-tiles entry bundle."""
    found, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise KhronikaError("a malformed entry bundle: a cut length prefix")
        (length,) = struct.unpack_from(">H", data, at)
        found.append(data[at + 2 : at + 2 + length])
        at += 2 + length
    if at != len(data):
        raise KhronikaError("a malformed entry bundle: its last entry is cut short")
    return found


def split(data: bytes, width: int = 32) -> Sequence[bytes]:
    return [data[i : i + width] for i in range(0, len(data), width)]
