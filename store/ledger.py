"""The tamper-evident log: every stored event is a leaf of a Merkle tree.

A leaf is SHA-256(0x00 || canonical bytes) of one stored event, in log order;
the canonical bytes frame the topic, the stream id, the version and the
encoded state so that no two events can share them.
"""

from __future__ import annotations

import struct
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from khronika.store import merkle

MAGIC = b"khronika-event/1\n"


def canonical(topic: str, originator_id: UUID, version: int, state: bytes) -> bytes:
    """Length-framed: topic, 16-byte stream id, 8-byte version, state."""
    name = topic.encode()
    return b"".join((
        MAGIC, struct.pack(">I", len(name)), name, originator_id.bytes,
        struct.pack(">Q", version), struct.pack(">Q", len(state)), state,
    ))  # fmt: skip


def leaf(event: StoredEvent) -> bytes:
    originator_id = event.originator_id
    if not isinstance(originator_id, UUID):
        originator_id = UUID(originator_id)
    return merkle.leaf_hash(
        canonical(event.topic, originator_id, event.originator_version, event.state)
    )
