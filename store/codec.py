"""msgspec encoding of stored events, with upcasters for old schemas.

Events are encoded as compact JSON by msgspec, replacing eventsourcing's
default JSON transcoder. A class whose stored meaning changes declares the
new `class_version` in UPCASTERS; old stored events are then decoded as
dicts, passed through the upcasters in order, and converted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from khronika.domain import lenient
from khronika.domain.errors import StoreError

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


def stored_version(topic: str) -> int:
    return len(UPCASTERS.get(topic, ())) + 1


class MsgspecMapper(Mapper[UUID]):
    """Maps msgspec event Structs to stored events and back."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(type(domain_event))
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
