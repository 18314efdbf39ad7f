"""The stored events. Their module and class names are stored topics.

Rules (the stored schema is a contract): a new field gets a default, a field
never changes type, a renamed class is registered under its old topic with
`eventsourcing.utils.register_topic`, and a changed meaning gets an upcaster
in `khronika.store.codec` together with a test that decodes an old event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from khronika.domain.documents import Citation, EntityDoc, FactDoc, SourceDoc
from khronika.domain.ids import StreamKind
from khronika.domain.intent import Notes


def stamp(moment: datetime) -> str:
    """A record time as ISO 8601 UTC text with microseconds: sorts as text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Seal(msgspec.Struct, frozen=True, kw_only=True):
    """A maintainer's signature over the event's intent (domain/intent.py).

    `intent` is the signed JSON byte for byte, `signature` the note
    signature (4-byte key id, 64-byte Ed25519 signature), `values` the
    personal values the intent commits to, with their salts, and `notes`
    the redactions of those no longer stored (domain/intent.py).
    """

    key: str  # "<key name>+<key id hex>"
    created: str
    signature: bytes
    intent: bytes
    values: dict[str, list[Any]]
    notes: Notes = {}

    @property
    def key_id(self) -> str:
        return self.key.rpartition("+")[2]


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every stored event.

    `timestamp` is record time: the store's clock, never taken from input.
    `slug` names the stream (its UUID is derived from it, see ids.py).
    `seal` is the maintainer's signature; None on events stored before
    signing. It is stored as the state's envelope, never as a field.
    """

    originator_id: UUID
    originator_version: int
    timestamp: datetime
    recorded_by: str
    slug: str
    seal: Seal | None = None


class SourceAdded(Event, frozen=True, kw_only=True):
    """A source; `copy_stored` if the copy `doc.sha256` names was stored with it.

    Events written by earlier versions lack `copy_stored`: their copy may or
    may not have been stored, so `verify` cannot call its absence a loss.
    """

    doc: SourceDoc
    copy_stored: bool = False


class SourceCopyAttached(Event, frozen=True, kw_only=True):
    """An archived copy of the source, stored by its SHA-256."""

    sha256: str


class SourceCorrected(Event, frozen=True, kw_only=True):
    """New values for the named fields of a source (not its id or copy)."""

    changes: dict[str, Any]
    reason: str


class EntityRegistered(Event, frozen=True, kw_only=True):
    doc: EntityDoc


class EntityAliasAdded(Event, frozen=True, kw_only=True):
    alias: str


class EntityRenamed(Event, frozen=True, kw_only=True):
    name: str
    reason: str = ""


class EntityMerged(Event, frozen=True, kw_only=True):
    """This entity is the same as `into`; its facts count for `into`."""

    into: str
    reason: str = ""


class FactRecorded(Event, frozen=True, kw_only=True):
    doc: FactDoc
    unchecked: str = ""  # why the citations were not checked against copies


class FactCorrected(Event, frozen=True, kw_only=True):
    """New values for the named top-level fields of the fact."""

    changes: dict[str, Any]
    reason: str
    sources: list[Citation]
    unchecked: str = ""


class SigningKeyRotated(Event, frozen=True, kw_only=True):
    """The store signs its checkpoints with a new key from now on.

    `key` and `previous` are verifier keys ("<name>+<key id>+<base64 key>");
    `previous` is empty when the old key's .pub was lost too.
    """

    key: str
    previous: str = ""
    reason: str


Role = Literal["maintainer", "admin"]


class MaintainerEvent(Event, frozen=True, kw_only=True):
    """A change to the registry of maintainers; the stream's slug is the name."""


class MaintainerAdded(MaintainerEvent, frozen=True, kw_only=True):
    """A maintainer with a verifier key ("<name>+<key id>+<base64 key>").

    The first one, an admin, is signed by the store's own key; `store_key`
    is then that key's verifier key, so that the signature can be checked.
    """

    key: str
    role: Role = "maintainer"
    store_key: str = ""


class MaintainerKeyRotated(MaintainerEvent, frozen=True, kw_only=True):
    """The maintainer signs with `key` from now on; the old key is retired."""

    key: str
    reason: str = ""


class MaintainerRevoked(MaintainerEvent, frozen=True, kw_only=True):
    """The maintainer's key signs nothing from now on."""

    reason: str


class FactRetracted(Event, frozen=True, kw_only=True):
    """The fact no longer stands; it stays visible in history."""

    reason: str
    sources: list[Citation]
    unchecked: str = ""


class Erased(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One stored value a redaction erased: the event at log `position`, and
    the JSON pointer of the value in its signed intent's body ("" for a
    whole event stored before signing, whose leaf covers all of its bytes)."""

    position: int
    pointer: str
    kept: str = ""  # erased whole: SHA-256 (hex) of what remains (intent.Tombstone)


class Redacted(Event, frozen=True, kw_only=True):
    """An admin erased personal values of the `kind` record named `slug`.

    Its stream is the record's redaction stream (ids.redaction_stream), not
    the record's own: it changes no record, only which stored values remain.
    `erased` names every value deleted, in every version of the record, so
    that `verify` can tell an erased value from a deleted one.
    """

    kind: StreamKind
    fields: list[str]
    reason: str
    legal_basis: str = ""
    erased: list[Erased] = []


Kind = StreamKind | Literal["store", "maintainer", "redaction"]

STREAM_KINDS: dict[type[Event], Kind] = {
    SourceAdded: "source",
    SourceCopyAttached: "source",
    SourceCorrected: "source",
    EntityRegistered: "entity",
    EntityAliasAdded: "entity",
    EntityRenamed: "entity",
    EntityMerged: "entity",
    FactRecorded: "fact",
    FactCorrected: "fact",
    FactRetracted: "fact",
    SigningKeyRotated: "store",  # the store's own stream: its signing key
    MaintainerAdded: "maintainer",
    MaintainerKeyRotated: "maintainer",
    MaintainerRevoked: "maintainer",
    Redacted: "redaction",
}


def recorder(name: str, key: str | None) -> str:
    """Who recorded an event, as the CLI and pages say it: "NAME (key ID)"."""
    if not key:
        return f"{name} (unsigned, recorded before signing)"
    return f"{name} (key {key.rpartition('+')[2]})"


def kind_of(event: Event) -> Kind:
    """The kind of stream an event belongs to: source, entity, fact, store,
    maintainer or redaction."""
    return STREAM_KINDS[type(event)]
