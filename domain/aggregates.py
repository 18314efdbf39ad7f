"""Sources, entities and facts as immutable aggregates.

Each command function takes the current state (or nothing, for a new stream),
checks the domain rules and returns the new event. `project` folds events
into state; it is what eventsourcing's repository calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from khronika.domain import lenient
from khronika.domain.documents import Citation, EntityDoc, FactDoc, SourceDoc
from khronika.domain.errors import KhronikaError, ValidationError
from khronika.domain.events import (
    EntityAliasAdded,
    EntityMerged,
    EntityRegistered,
    EntityRenamed,
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    SourceAdded,
    SourceCopyAttached,
    SourceCorrected,
)
from khronika.domain.ids import stream_id
from khronika.domain.names import normal
from khronika.domain.parse import field_error
from khronika.domain.rules import check_citations, check_entity, check_fact
from khronika.domain.rules import check_source as check_source_doc
from khronika.domain.text import NAME_MAX, REASON_MAX, USER_MAX, check_line

CORRECTABLE_FIELDS = (
    "kind",
    "when",
    "summary",
    "place",
    "participants",
    "details",
    "sources",
)
SOURCE_CORRECTABLE = ("title", "publisher", "url", "published", "language")


class Aggregate(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    version: int
    created_on: datetime
    modified_on: datetime


class Source(Aggregate, frozen=True, kw_only=True):
    doc: SourceDoc


class Entity(Aggregate, frozen=True, kw_only=True):
    doc: EntityDoc
    merged_into: str | None = None


class Fact(Aggregate, frozen=True, kw_only=True):
    doc: FactDoc
    retracted: bool = False


A = TypeVar("A", bound=Aggregate)


def _next(state: A, event: Event, **changes: Any) -> A:
    return msgspec.structs.replace(
        state,
        version=event.originator_version,
        modified_on=event.timestamp,
        **changes,
    )


def _first(cls: type[A], event: Event, **fields: Any) -> A:
    return cls(
        id=event.originator_id,
        version=event.originator_version,
        created_on=event.timestamp,
        modified_on=event.timestamp,
        **fields,
    )


def apply(state: Aggregate | None, event: Event) -> Aggregate:
    """The state after `event`."""
    if isinstance(event, SourceAdded):
        return _first(Source, event, doc=event.doc)
    if isinstance(event, EntityRegistered):
        return _first(Entity, event, doc=event.doc)
    if isinstance(event, FactRecorded):
        return _first(Fact, event, doc=event.doc)
    if isinstance(state, Source) and isinstance(event, SourceCopyAttached):
        return _next(state, event, doc=_with(state.doc, sha256=event.sha256))
    if isinstance(state, Source) and isinstance(event, SourceCorrected):
        return _next(state, event, doc=corrected_source(state.doc, event))
    if isinstance(state, Entity):
        if isinstance(event, EntityAliasAdded):
            aliases = [*state.doc.aliases, event.alias]
            return _next(state, event, doc=_with(state.doc, aliases=aliases))
        if isinstance(event, EntityRenamed):
            aliases = [*state.doc.aliases, state.doc.name]
            doc = _with(state.doc, name=event.name, aliases=aliases)
            return _next(state, event, doc=doc)
        if isinstance(event, EntityMerged):
            return _next(state, event, merged_into=event.into)
    if isinstance(state, Fact):
        if isinstance(event, FactCorrected):
            return _next(state, event, doc=apply_correction(state.doc, event))
        if isinstance(event, FactRetracted):
            return _next(state, event, retracted=True)
    raise KhronikaError(
        f"event {type(event).__name__} v{event.originator_version} "
        f"does not apply to {type(state).__name__}"
    )


def project(state: Aggregate | None, events: Iterable[Event]) -> Aggregate | None:
    for event in events:
        state = apply(state, event)
    return state


D = TypeVar("D", bound=msgspec.Struct)


def _with(doc: D, **changes: Any) -> D:
    return msgspec.structs.replace(doc, **changes)


def apply_changes(
    doc: FactDoc, changes: dict[str, Any], *, stored: bool = False
) -> FactDoc:
    """The fact document with the given top-level fields replaced.

    `stored` changes were checked when they were recorded, perhaps under
    looser rules than today's; they are applied without today's constraints.
    """
    if stored:
        return lenient.convert(msgspec.to_builtins(doc) | changes, FactDoc)
    return _replaced(doc, changes, CORRECTABLE_FIELDS)


def apply_correction(doc: FactDoc, event: FactCorrected) -> FactDoc:
    """The fact as a stored correction leaves it.

    The changed fields are replaced, and the correction's citations join the
    fact's sources: what supports the fact now is cited on it. A correction
    that sets `sources` itself says exactly what the sources are.
    """
    new = apply_changes(doc, event.changes, stored=True)
    if "sources" in event.changes:
        return new
    extra = [c for c in event.sources if c not in new.sources]
    return msgspec.structs.replace(new, sources=[*new.sources, *extra])


def _replaced(doc: D, changes: dict[str, Any], allowed: tuple[str, ...]) -> D:
    """`doc` with the named fields replaced, checked by its schema."""
    raw = msgspec.to_builtins(doc)
    for name, value in changes.items():
        if name not in allowed:
            raise ValidationError(
                name,
                "cannot be corrected; correctable fields are " + ", ".join(allowed),
            )
        raw[name] = value
    try:
        return msgspec.convert(raw, type=type(doc))
    except msgspec.ValidationError as e:
        raise field_error(e, cls=type(doc)) from None


def corrected_source(doc: SourceDoc, event: SourceCorrected) -> SourceDoc:
    """The source as a stored correction leaves it (checked when recorded)."""
    raw = msgspec.to_builtins(doc) | event.changes
    return lenient.convert(raw, SourceDoc)


def correct_source(
    source: Source, changes: dict[str, Any], reason: str, at: datetime, by: str
) -> SourceCorrected:
    _check_reason(reason)
    _check_some(changes)
    new_doc = _replaced(source.doc, changes, SOURCE_CORRECTABLE)
    changed = _changed(source.doc, new_doc, changes)
    check_source_doc(new_doc)
    return SourceCorrected(
        **_after(source, source.doc.id, at, by),
        changes=changed,
        reason=reason,
    )


def add_source(
    doc: SourceDoc, at: datetime, by: str, copy_stored: bool = False
) -> SourceAdded:
    check_source_doc(doc)
    event = _new("source", doc.id, at, by)
    return SourceAdded(**event, doc=doc, copy_stored=copy_stored)


def register_entity(doc: EntityDoc, at: datetime, by: str) -> EntityRegistered:
    doc = normal_entity(doc)
    check_entity(doc)
    return EntityRegistered(**_new("entity", doc.id, at, by), doc=doc)


def normal_entity(doc: EntityDoc) -> EntityDoc:
    """The entity with its name and aliases as stored (`names.normal`)."""
    return msgspec.structs.replace(
        doc, name=normal(doc.name), aliases=[normal(a) for a in doc.aliases]
    )


def record_fact(
    doc: FactDoc, at: datetime, by: str, unchecked: str = ""
) -> FactRecorded:
    check_fact(doc)
    _check_unchecked(unchecked)
    return FactRecorded(**_new("fact", doc.id, at, by), doc=doc, unchecked=unchecked)


def attach_copy(
    source: Source, sha256: str, at: datetime, by: str
) -> SourceCopyAttached:
    if source.doc.sha256 == sha256:
        raise ValidationError("file", f"'{source.doc.id}' already names this copy")
    return SourceCopyAttached(**_after(source, source.doc.id, at, by), sha256=sha256)


def add_alias(entity: Entity, alias: str, at: datetime, by: str) -> EntityAliasAdded:
    alias = normal(check_line("alias", alias, NAME_MAX))
    if alias == entity.doc.name or alias in entity.doc.aliases:
        raise ValidationError("alias", f"'{entity.doc.id}' already has '{alias}'")
    return EntityAliasAdded(**_after(entity, entity.doc.id, at, by), alias=alias)


def rename(
    entity: Entity, name: str, reason: str, at: datetime, by: str
) -> EntityRenamed:
    name = normal(check_line("name", name, NAME_MAX))
    check_line("reason", reason, REASON_MAX, required=False)
    if name == entity.doc.name:
        raise ValidationError("name", f"'{entity.doc.id}' is already named '{name}'")
    return EntityRenamed(
        **_after(entity, entity.doc.id, at, by), name=name, reason=reason
    )


def merge(
    entity: Entity, into: Entity, reason: str, at: datetime, by: str
) -> EntityMerged:
    if entity.id == into.id:
        raise ValidationError("into", "an entity cannot be merged into itself")
    check_line("reason", reason, REASON_MAX)
    if entity.merged_into is not None:
        raise ValidationError(
            "entity", f"'{entity.doc.id}' is already merged into '{entity.merged_into}'"
        )
    if into.merged_into is not None:
        raise ValidationError(
            "into",
            f"'{into.doc.id}' is itself merged into '{into.merged_into}'; "
            "merge into that one",
        )
    if entity.doc.kind != into.doc.kind:
        raise ValidationError(
            "into", f"cannot merge a {entity.doc.kind} into a {into.doc.kind}"
        )
    return EntityMerged(
        **_after(entity, entity.doc.id, at, by), into=into.doc.id, reason=reason
    )


def correct(
    fact: Fact,
    changes: dict[str, Any],
    reason: str,
    sources: list[Citation],
    at: datetime,
    by: str,
    unchecked: str = "",
) -> FactCorrected:
    _check_amendment(fact, reason, sources)
    _check_unchecked(unchecked)
    _check_some(changes)
    changes = _keep_when_parts(fact.doc, changes)
    new_doc = apply_changes(fact.doc, changes)
    changed = _changed(fact.doc, new_doc, changes)
    check_fact(new_doc)
    return FactCorrected(
        **_after(fact, fact.doc.id, at, by),
        changes=changed,
        reason=reason,
        sources=sources,
        unchecked=unchecked,
    )


def _keep_when_parts(doc: FactDoc, changes: dict[str, Any]) -> dict[str, Any]:
    """A new date given as plain EDTF keeps the wording and anchor it had."""
    when = changes.get("when")
    if not isinstance(when, str) or isinstance(doc.when, str):
        return changes
    kept = msgspec.to_builtins(doc.when) | {"edtf": when}
    return changes | {"when": kept}


def retract(
    fact: Fact,
    reason: str,
    sources: list[Citation],
    at: datetime,
    by: str,
    unchecked: str = "",
) -> FactRetracted:
    _check_amendment(fact, reason, sources)
    _check_unchecked(unchecked)
    return FactRetracted(
        **_after(fact, fact.doc.id, at, by),
        reason=reason,
        sources=sources,
        unchecked=unchecked,
    )


def _check_amendment(fact: Fact, reason: str, sources: list[Citation]) -> None:
    if fact.retracted:
        raise ValidationError("fact", f"'{fact.doc.id}' is retracted already")
    _check_reason(reason)
    check_citations(sources, field="source")


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise ValidationError("reason", "say why (a non-empty reason is required)")
    check_line("reason", reason, REASON_MAX)


def _check_some(changes: dict[str, Any]) -> None:
    if not changes:
        raise ValidationError("set", "name at least one field to change")


def _changed(old: D, new: D, changes: dict[str, Any]) -> dict[str, Any]:
    """The changed fields' values as the schema read them, not as typed.

    What is stored is then exactly what was checked, and it encodes and
    decodes back to itself (a number too large for a float, say, was refused).
    """
    if new == old:
        raise ValidationError("set", "the new values equal the current ones")
    checked = msgspec.to_builtins(new)
    return {name: checked[name] for name in changes}


def _check_unchecked(unchecked: str) -> None:
    """The reason citations were not checked: none, or one line of text."""
    if unchecked:
        check_line("unchecked", unchecked, REASON_MAX)


def _new(kind: Any, slug: str, at: datetime, by: str) -> dict[str, Any]:
    check_line("recorded_by", by, USER_MAX)
    return {
        "originator_id": stream_id(kind, slug),
        "originator_version": 1,
        "timestamp": at,
        "recorded_by": by,
        "slug": slug,
    }


def _after(state: Aggregate, slug: str, at: datetime, by: str) -> dict[str, Any]:
    check_line("recorded_by", by, USER_MAX)
    return {
        "originator_id": state.id,
        "originator_version": state.version + 1,
        "timestamp": at,
        "recorded_by": by,
        "slug": slug,
    }
