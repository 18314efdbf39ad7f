"""msgspec encoding of stored events, with upcasters for old schemas.

Events are encoded as compact JSON by msgspec, replacing eventsourcing's
default JSON transcoder. A class whose stored meaning changes declares the
new `class_version` in UPCASTERS; old stored events are then decoded as
dicts, passed through the upcasters in order, and converted.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from khronika.domain import intent, lenient
from khronika.domain.errors import StoreError
from khronika.domain.events import Event, Seal

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# topic -> upcasters; upcaster i turns a class_version i+1 state into i+2.
UPCASTERS: dict[str, list[Upcaster]] = {}

_encoder = msgspec.json.Encoder()
_decoders: dict[type, msgspec.json.Decoder[Any]] = {}


def encode(event: object) -> bytes:
    return _encoder.encode(event)


def decode(topic: str, state: bytes) -> Any:
    """The event stored under `topic` with `state`, upcast if need be."""
    try:
        cls = resolve_topic(topic)
    except Exception as e:  # the topic names a class that is gone
        raise StoreError(f"stored topic '{topic}' does not resolve: {e}") from e
    if intent.is_enveloped(state):
        return _unseal(topic, cls, state)
    if intent.is_tombstone(state):
        return decode(topic, _remains(state))
    upcasters = UPCASTERS.get(topic)
    if upcasters:
        raw = msgspec.json.decode(state)
        for upcast in upcasters[raw.pop("class_version", 1) - 1 :]:
            raw = upcast(raw)
        try:
            return msgspec.convert(raw, type=cls)
        except msgspec.ValidationError:
            return lenient.convert(raw, cls)
    decoder = _decoders.get(cls)
    if decoder is None:
        decoder = _decoders[cls] = msgspec.json.Decoder(cls)
    try:
        return decoder.decode(state)
    except msgspec.ValidationError:  # stored before a rule was tightened
        return lenient.decode_json(state, cls)


_envelope_decoder = msgspec.json.Decoder(intent.Envelope)
_intent_decoder = msgspec.json.Decoder(intent.Intent)
_values_decoder = msgspec.json.Decoder(dict[str, list[Any]])


def open_envelope(
    state: bytes,
) -> tuple[intent.Envelope, intent.Intent, intent.Values]:
    """An enveloped state's envelope, its intent and the values beside it."""
    head, tail = intent.split_state(state)
    try:
        envelope = _envelope_decoder.decode(head)
        asked = _intent_decoder.decode(envelope.intent)
        values = _values_decoder.decode(tail) if tail else {}
    except msgspec.DecodeError as e:
        raise StoreError(f"a stored envelope does not decode: {e}") from None
    return envelope, asked, values


class _Head(msgspec.Struct):
    timestamp: datetime
    slug: str = ""


class _Slug(msgspec.Struct):
    slug: str


_head_decoder = msgspec.json.Decoder(_Head)
_slug_decoder = msgspec.json.Decoder(_Slug)


def stamp_of(state: bytes) -> datetime:
    """The record time in a stored state, read without decoding the event."""
    return _head_decoder.decode(intent.split_state(state)[0]).timestamp


def slug_of(state: bytes) -> str:
    """The stream's slug in a stored state (in an envelope, its intent's)."""
    if intent.is_enveloped(state):
        return open_envelope(state)[1].slug
    return _head_decoder.decode(intent.split_state(state)[0]).slug


def _missing(notes: intent.Notes) -> Callable[[str], Any]:
    """What stands for a value no longer stored: its redaction's note."""

    def missing(pointer: str) -> Any:
        if pointer.endswith("/aliases"):
            return []
        note = notes.get(pointer)
        return intent.STRIPPED if note is None else note.text()

    return missing


def _remains(state: bytes) -> bytes:
    """What remains of an event erased whole, with its redaction's notes."""
    try:
        raw = msgspec.json.decode(bytes(intent.tombstone(state).state))
        notes = intent.notes_of(state)
    except msgspec.DecodeError as e:
        raise StoreError(f"a redacted event does not decode: {e}") from None
    missing = _missing(notes)
    for pointer in notes:
        intent.place(raw, pointer, missing(pointer))
    return _encoder.encode(raw)


def _unseal(topic: str, cls: type, state: bytes) -> Any:
    envelope, asked, values = open_envelope(state)
    try:
        notes = intent.notes_of(state)
    except msgspec.DecodeError as e:
        raise StoreError(
            f"the redaction notes of an event do not decode: {e}"
        ) from None
    raw = intent.reveal(asked.body, values, _missing(notes)) | {
        "originator_id": asked.stream,
        "originator_version": asked.version,
        "timestamp": envelope.timestamp,
        "recorded_by": asked.by,
        "slug": asked.slug,
    }
    for upcast in UPCASTERS.get(topic, [])[raw.pop("class_version", 1) - 1 :]:
        raw = upcast(raw)
    try:
        event: Event = msgspec.convert(raw, type=cls)
    except msgspec.ValidationError:
        event = lenient.convert(raw, cls)
    seal = Seal(
        key=asked.key,
        created=asked.created,
        signature=base64.b64decode(envelope.signature),
        intent=bytes(envelope.intent),
        values=values,
        notes=notes,
    )
    return msgspec.structs.replace(event, seal=seal)


def envelope_state(event: Event, seal: Seal) -> bytes:
    """The stored state of a sealed event: envelope, newline, values."""
    head = _encoder.encode(
        intent.Envelope(
            timestamp=event.timestamp,
            signature=base64.b64encode(seal.signature).decode(),
            intent=msgspec.Raw(seal.intent),
        )
    )
    return head + b"\n" + _encoder.encode(seal.values)


BASE_FIELDS = ("originator_id", "originator_version", "timestamp", "recorded_by",
               "slug", "seal")  # fmt: skip


def body_of(event: Event) -> dict[str, Any]:
    """The event's own fields, as builtins: what its intent asks to write."""
    raw: dict[str, Any] = msgspec.to_builtins(event)
    for key in BASE_FIELDS:
        raw.pop(key, None)
    version = stored_version(get_topic(type(event)))
    return raw if version == 1 else {"class_version": version} | raw


def stored_version(topic: str) -> int:
    return len(UPCASTERS.get(topic, ())) + 1


class MsgspecMapper(Mapper[UUID]):
    """Maps msgspec event Structs to stored events and back."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(type(domain_event))
        seal = getattr(domain_event, "seal", None)
        if isinstance(seal, Seal):
            state = envelope_state(cast(Event, domain_event), seal)
        else:
            state = encode(domain_event)
            version = stored_version(topic)
            if version > 1:  # mark the schema version the state was written in
                state = b'{"class_version":%d,' % version + state[1:]
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic,
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        event: DomainEventProtocol[UUID] = decode(
            stored_event.topic, stored_event.state
        )
        return event


class NullTranscoder(Transcoder):
    """Unused: the mapper encodes with msgspec directly."""

    def encode(self, obj: Any) -> bytes:
        raise NotImplementedError

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError
