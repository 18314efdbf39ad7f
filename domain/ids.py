"""Stream ids: every source, entity and fact stream is named by a slug.

The stream's UUID is derived from its kind and slug, so the same slug always
names the same stream, and an auditor can recompute it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal
from uuid import UUID, uuid5

StreamKind = Literal["source", "entity", "fact"]

NAMESPACE = UUID("6f1c0e2a-5b7d-4e0b-9a51-6b686f6e696b")


@lru_cache(maxsize=8192)  # a batch asks twice for each of its ids
def stream_id(kind: StreamKind, slug: str) -> UUID:
    """The UUID of the stream of the `kind` record named `slug`."""
    return uuid5(NAMESPACE, f"{kind}:{slug}")


# The store's own stream, of SigningKeyRotated events: slug "signing-key".
SIGNING_KEY = "signing-key"
SIGNING_KEY_STREAM = uuid5(NAMESPACE, f"store:{SIGNING_KEY}")


def maintainer_stream(name: str) -> UUID:
    """The stream of one maintainer's registry events (slug: the name)."""
    return uuid5(NAMESPACE, f"maintainer:{name}")


def redaction_stream(kind: StreamKind, slug: str) -> UUID:
    """The stream of the redactions of one record (slug: the record's)."""
    return uuid5(NAMESPACE, f"redaction:{kind}:{slug}")
