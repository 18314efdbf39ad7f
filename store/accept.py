"""A served write: a maintainer's sealed events, checked again, then saved.

The client built the events with the same commands as on a local store and
sealed them with the maintainer's key (store/remote.py). The server trusts
none of it: `accept`

1. decodes each event with its seal, and refuses an unsigned one;
2. refuses a creation time outside `signing.WINDOW` of its clock;
3. answers a batch stored already, event for event with the same
   signatures, with "already recorded" (a replayed request writes nothing);
4. admits each seal against the registry as it stands: an unknown, retired
   or revoked key, an altered intent, a maintainer making an admin's change;
5. re-runs the maintainer's command on the store as it stands (the
   Importer for a batch of records, the Chronicle's command method for one
   event) and refuses the events unless it derives the same ones: type,
   stream, version and body (a redaction is refused: it is made on the
   store's own machine, which must also rewrite its files);
6. saves them in one transaction (which admits them once more).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.utils import get_topic

from khronika.domain import intent
from khronika.domain.documents import Merge, Record, Retraction
from khronika.domain.errors import KhronikaError, ValidationError
from khronika.domain.events import (
    STREAM_KINDS,
    EntityAliasAdded,
    EntityMerged,
    EntityRegistered,
    EntityRenamed,
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    MaintainerAdded,
    MaintainerKeyRotated,
    MaintainerRevoked,
    Redacted,
    SourceAdded,
    SourceCopyAttached,
    SourceCorrected,
)
from khronika.store import checkpoint as cp
from khronika.store import codec, signing
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, ImportError_
from khronika.store.signing import SigningError

TOPICS = {get_topic(cls): cls for cls in STREAM_KINDS}
FIRST = (SourceAdded, EntityRegistered, FactRecorded)  # an import's, at version 1
AMENDMENTS = (EntityMerged, FactRetracted)  # an import's "merge" and "retraction"
_mapper = codec.MsgspecMapper(transcoder=codec.NullTranscoder())


class RefusedError(KhronikaError):
    """Events that are not what the maintainer's command makes of them."""


@dataclass(frozen=True)
class Accepted:
    replay: bool  # True: every event was stored already, with its signature
    stored: list[StoredEvent]  # as stored, with their record times


def accept(app: Chronicle, batch: Sequence[StoredEvent]) -> Accepted:
    """Check a batch of sealed events as the CLI checks a write, then save it."""
    if not batch:
        raise RefusedError("the batch holds no events")
    events = [_decoded(i, s) for i, s in enumerate(batch, start=1)]
    keys = {e.seal.key for e in events if e.seal is not None}
    if len(keys) > 1:
        raise RefusedError("a batch is one maintainer's: its events name two keys")
    for event in events:
        assert event.seal is not None
        late = signing.check_created(event.seal)
        if late is not None:
            raise SigningError(f"{event.slug}: {late}")
    stored = _stored_already(app, events)
    if stored is not None:
        return Accepted(replay=True, stored=stored)
    app.admit(events)
    _same(events, _derive(app, events))
    return Accepted(replay=False, stored=app.save_batch(events))


def _decoded(number: int, stored: StoredEvent) -> Event:
    """The event with its seal; RefusedError for an unknown type or no seal."""
    if stored.topic not in TOPICS:  # never resolve a topic a client names
        raise RefusedError(f"event {number}: '{stored.topic}' is not an event type")
    if not intent.is_enveloped(stored.state):
        raise SigningError(
            f"event {number}: unsigned; every write over HTTP is signed by its "
            "maintainer's key"
        )
    try:
        event: Event = codec.decode(stored.topic, stored.state)
    except (KhronikaError, msgspec.MsgspecError, ValueError, TypeError) as e:
        raise RefusedError(f"event {number}: does not decode: {e}") from None
    if (event.originator_id, event.originator_version) != (
        stored.originator_id, stored.originator_version,
    ):  # fmt: skip
        raise RefusedError(f"event {number}: its stream or version is not its intent's")
    return event


def _stored_already(app: Chronicle, events: list[Event]) -> list[StoredEvent] | None:
    """The batch as stored, if every event is, with its signature; None if none
    is. IntegrityError if another event holds one of their places."""
    found = []
    for event in events:
        version = event.originator_version
        there = app.recorder.select_events(
            event.originator_id, gt=version - 1, lte=version
        )
        found.append(there[0] if there else None)
    if not any(found):
        return None
    mine = [s is not None and _signed(s) == _signed(_mapper.to_stored_event(e))
            for s, e in zip(found, events, strict=True)]  # fmt: skip
    if all(mine):
        return [s for s in found if s is not None]
    taken = next(e for e, s in zip(events, found, strict=True) if s is not None)
    raise IntegrityError(
        f"{taken.slug}: version {taken.originator_version} of its stream is "
        "recorded already, by another event"
    )


def _signed(stored: StoredEvent) -> tuple[str, bytes, bytes]:
    """What a maintainer signed of a stored event, and its values: all of its
    state but the record time the server stamps."""
    if not intent.is_enveloped(stored.state):
        return "", b"", b""
    envelope = codec.open_envelope(stored.state)[0]
    return (
        envelope.signature,
        bytes(envelope.intent),
        intent.split_state(stored.state)[1],
    )


def _derive(app: Chronicle, events: list[Event]) -> list[Event]:
    """What the maintainer's command makes of these events' values, now."""
    by = events[0].recorded_by  # the intent's name, which the registry checked
    if len(events) == 1 and not isinstance(events[0], FIRST):
        return app.derive(_command(app, events[0], by))
    if not all(_imported(e) for e in events):
        raise RefusedError(
            "a batch of more than one event holds an import's records "
            "(sources, entities and facts at version 1, merges, retractions); "
            "other changes are sent one at a time"
        )
    copies = frozenset(_copy(app, e) for e in events if isinstance(e, SourceAdded)
                       and e.copy_stored)  # fmt: skip
    facts = [e for e in events if isinstance(e, FactRecorded)]
    unchecked = facts[0].unchecked if facts else ""
    importer = Importer(app, by, unchecked=unchecked, copies=copies)
    records = [(f"event {i}", _record(e)) for i, e in enumerate(events, start=1)]
    try:
        return importer.events(records)
    except ImportError_ as e:
        raise e.error from None


def _imported(event: Event) -> bool:
    first = isinstance(event, FIRST) and event.originator_version == 1
    return first or isinstance(event, AMENDMENTS)


def _record(event: Event) -> Record:
    """The import record that makes `event`."""
    if isinstance(event, SourceAdded | EntityRegistered | FactRecorded):
        return event.doc
    if isinstance(event, EntityMerged):
        return Merge(entity=event.slug, into=event.into, reason=event.reason)
    assert isinstance(event, FactRetracted)
    return Retraction(fact=event.slug, reason=event.reason, sources=event.sources)


def _copy(app: Chronicle, event: SourceAdded | SourceCopyAttached) -> str:
    """The hash of the archived copy the event names; it must be stored."""
    sha256 = event.sha256 if isinstance(event, SourceCopyAttached) else event.doc.sha256
    if not sha256 or app.store.get_copy(sha256) is None:
        raise ValidationError(
            "file",
            f"the archived copy of '{event.slug}' (sha256:{sha256}) is not on "
            f"the server; PUT it to /api/write/copies/{sha256} first",
        )
    return sha256


def _command(app: Chronicle, e: Event, by: str) -> Callable[[], Any]:
    """The Chronicle's command that makes `e`, from its values."""
    if isinstance(e, SourceCopyAttached):
        copy = app.store.get_copy(_copy(app, e)) or b""
        return lambda: app.attach_copy(e.slug, copy, by)
    if isinstance(e, SourceCorrected):
        return lambda: app.correct_source(e.slug, e.changes, e.reason, by)
    if isinstance(e, EntityAliasAdded):
        return lambda: app.add_alias(e.slug, e.alias, by)
    if isinstance(e, EntityRenamed):
        return lambda: app.rename(e.slug, e.name, e.reason, by)
    if isinstance(e, EntityMerged):
        return lambda: app.merge(e.slug, e.into, e.reason, by)
    if isinstance(e, FactCorrected):
        return lambda: app.correct(
            e.slug, e.changes, e.reason, e.sources, by, e.unchecked
        )
    if isinstance(e, FactRetracted):
        return lambda: app.retract(e.slug, e.reason, e.sources, by, e.unchecked)
    if isinstance(e, MaintainerAdded) and not e.store_key:
        return lambda: app.add_maintainer(e.slug, _key(e.key), e.role)
    if isinstance(e, MaintainerKeyRotated):
        return lambda: app.rotate_maintainer(e.slug, _key(e.key), e.reason)
    if isinstance(e, MaintainerRevoked):
        return lambda: app.revoke_maintainer(e.slug, e.reason)
    if isinstance(e, Redacted):
        raise RefusedError(
            f"{e.slug}: a redaction is not taken over HTTP; an admin runs "
            "`khronika redact` on the store's own machine, which then rebuilds "
            "the views and rewrites the store's files without the erased bytes"
        )
    raise RefusedError(
        f"{e.slug}: a {type(e).__name__} is not taken over HTTP; the store's "
        "own key and its first admin are changed on its server"
    )


def _key(text: str) -> cp.Verifier:
    try:
        return cp.load_verifier(text)
    except cp.CheckpointError as e:
        raise ValidationError("pubkey", str(e)) from None


def _same(events: list[Event], derived: list[Event]) -> None:
    """RefusedError unless `derived` are `events`: type, stream, version, body."""
    if len(derived) != len(events):
        raise RefusedError(
            f"the batch holds {len(events)} events, but its records make "
            f"{len(derived)} on the store as it stands"
        )
    for mine, made in zip(events, derived, strict=True):
        what = (
            f"{mine.slug}: a {type(mine).__name__} at version {mine.originator_version}"
        )
        if type(mine) is not type(made) or (
            mine.originator_id, mine.originator_version,
        ) != (made.originator_id, made.originator_version):  # fmt: skip
            raise RefusedError(
                f"{what}, but the store as it stands makes a {type(made).__name__} "
                f"at version {made.originator_version}"
            )
        body, expected = codec.body_of(mine), codec.body_of(made)
        if body != expected:
            fields = [k for k in body.keys() | expected.keys()
                      if body.get(k) != expected.get(k)]  # fmt: skip
            raise RefusedError(
                f"{what}, whose {', '.join(sorted(fields))} are not what its "
                "command makes of them"
            )
