"""Bulk import: JSON Lines streamed in batches, one transaction per batch.

A batch is checked whole before it is written, and written whole or not at
all. Records already in the store with the same content are skipped, so
importing a file twice adds nothing the second time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO
from uuid import UUID

import msgspec

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Entity, Fact
from khronika.domain.documents import (
    EntityDoc,
    FactDoc,
    Merge,
    Record,
    Retraction,
    SourceDoc,
    differs,
)
from khronika.domain.errors import DuplicateError, KhronikaError, ValidationError
from khronika.domain.events import (
    EntityMerged,
    Event,
    FactRecorded,
    FactRetracted,
    Redacted,
    kind_of,
    stamp,
)
from khronika.domain.ids import StreamKind, stream_id
from khronika.domain.intent import holds_note
from khronika.domain.parse import MAX_DOCUMENT_BYTES, decode
from khronika.domain.rules import Reference
from khronika.domain.sameness import VerdictKey, verdict_key
from khronika.store import copies
from khronika.store.app import Chronicle
from khronika.store.codec import decode as decode_event
from khronika.store.redaction import doc_fields

BUNDLE_FILES = ("sources.jsonl", "entities.jsonl", "facts.jsonl")
DEFAULT_BATCH = 1000


class Line(msgspec.Struct, frozen=True):
    where: str  # "FILE line N"
    data: bytes
    size: int  # bytes read, for progress


class ImportReport(msgspec.Struct):
    added: Counter[str] = msgspec.field(default_factory=Counter)
    skipped: Counter[str] = msgspec.field(default_factory=Counter)
    batches: int = 0
    # the verdicts added (or that a dry run would add), to look for twins
    verdicts: list[VerdictKey] = msgspec.field(default_factory=list)


class ImportError_(KhronikaError):
    """A record failed; the batches before it are in the store."""

    def __init__(self, where: str, error: KhronikaError, report: ImportReport):
        self.where = where  # the record, as its Line names it
        self.error = error
        self.report = report
        done = sum(report.added.values())
        super().__init__(
            f"{where}: {error}\n"
            f"This batch was not written. {report.batches} earlier batch(es) "
            f"with {done} new record(s) are in the store; fix the record and "
            "import again: what is there already is skipped."
        )


def bundle_files(path: Path) -> list[Path]:
    """The files to read for `path`: itself, or a bundle directory's parts."""
    if path.name == "events.jsonl":
        raise ValidationError(
            str(path),
            "is a release's event log, kept so that auditors can "
            "check it against the checkpoint; import the release's folder, "
            "whose sources, entities and facts it holds",
        )
    if not path.is_dir():
        return [path]
    files = [path / name for name in BUNDLE_FILES if (path / name).exists()]
    for part in files:
        if not part.is_file():
            raise ValidationError(
                str(part), "is not a file: a bundle's parts are JSON Lines files"
            )
    if not files:
        raise ValidationError(
            str(path), "a bundle directory needs " + ", ".join(BUNDLE_FILES)
        )
    return files


def read_lines(files: Iterable[tuple[str, BinaryIO]]) -> Iterator[Line]:
    """The lines of each file; a line longer than MAX_DOCUMENT_BYTES is refused
    after reading that much of it, so an endless one (/dev/zero) ends."""
    for name, stream in files:
        number = 0
        while data := stream.readline(MAX_DOCUMENT_BYTES + 1):
            number += 1
            if len(data) > MAX_DOCUMENT_BYTES:
                raise ValidationError(
                    f"{name} line {number}",
                    f"is longer than {MAX_DOCUMENT_BYTES:,} bytes, the most one "
                    "record may take",
                )
            if data.strip():
                yield Line(f"{name} line {number}", data, len(data))
            # blank lines still count towards progress
            elif data:
                yield Line("", b"", len(data))


Named = SourceDoc | EntityDoc | FactDoc  # the records with an id of their own
_KIND: dict[type, StreamKind] = {
    SourceDoc: "source",
    EntityDoc: "entity",
    FactDoc: "fact",
}


def _counted(event: Event) -> str:
    """What the report counts an event as: source, entity, fact, merge, retraction."""
    if isinstance(event, EntityMerged):
        return "merge"
    if isinstance(event, FactRetracted):
        return "retraction"
    return kind_of(event)


def store_copies(app: Chronicle, folder: Path) -> frozenset[str]:
    """Store the archived copies in a bundle's `copies/`, each named by its
    SHA-256; return their hashes. A copy whose bytes do not hash to its
    name is refused before anything is stored. Each is read twice, a chunk
    at a time (hashed, then streamed into the store, hashed again), so none
    is held in memory whole."""
    found = sorted(folder.glob("copies/*")) if folder.is_dir() else []
    for path in found:
        if copies.hash_file(path) != path.name:
            raise ValidationError(
                str(path), "the copy's SHA-256 is not its name: it was altered"
            )
    for path in found:
        with copies.from_file(path, expect=path.name) as copy:
            app.store.store_copy(copy)
    return frozenset(path.name for path in found)


class Importer:
    def __init__(
        self,
        app: Chronicle,
        by: str,
        batch_size: int = DEFAULT_BATCH,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
        unchecked: str = "",
        copies: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.copies = copies  # hashes of the archived copies stored with the import
        self.by = by
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.unchecked = unchecked
        self.catalogue = app.catalogue()
        self.report = ImportReport()
        self.batch_facts: dict[str, FactRecorded] = {}  # recorded, not yet saved
        self.at = app.clock.now()

    def run(self, lines: Iterable[Line]) -> ImportReport:
        batch: list[tuple[Line, Record]] = []
        read = 0
        for line in lines:
            read += line.size
            if line.data:
                try:
                    batch.append((line, decode(line.data, Record)))  # type: ignore[arg-type]
                except KhronikaError as e:
                    raise ImportError_(line.where, e, self.report) from None
            if len(batch) >= self.batch_size:
                self._flush(batch, read)
                batch = []
        self._flush(batch, read)
        return self.report

    def _flush(self, batch: list[tuple[Line, Record]], read: int) -> None:
        if batch:
            events = self._events(batch)
            if events and not self.dry_run:
                self.app.save_batch(events)
                self.report.batches += 1
            for event in events:
                self.report.added[_counted(event)] += 1
            if not self.dry_run:  # a dry run keeps them: nothing was written
                self.catalogue.pending_facts.clear()
                self.batch_facts = {}
        if self.on_progress is not None:
            self.on_progress(read)

    def events(self, records: list[tuple[str, Record]]) -> list[Event]:
        """The events a batch of (where, record) adds, checked, not saved;
        ImportError_ names the record that fails."""
        return self._events([(Line(where, b"", 0), r) for where, r in records])

    def _events(self, batch: list[tuple[Line, Record]]) -> list[Event]:
        batch = [  # names as stored, so that importing again finds them equal
            (line, agg.normal_entity(r) if isinstance(r, EntityDoc) else r)
            for line, r in batch
        ]
        docs = [r for _, r in batch if not isinstance(r, Merge | Retraction)]
        ids = [stream_id(_KIND[type(record)], record.id) for record in docs]
        recorded = {
            sid: decode_event(s.topic, s.state).doc
            for sid, s in self.app.store.first_events(ids).items()
        }
        events: list[Event] = []
        given: dict[UUID, str] = {}  # ids given earlier in this batch: where
        self.at = self.app.clock.now()  # provisional: the recorder stamps each
        for line, record in batch:
            try:
                if isinstance(record, Merge | Retraction):
                    amendment = self._amendment(record)
                    if amendment is not None:
                        events.append(amendment)
                    continue
                kind, sid = (
                    _KIND[type(record)],
                    stream_id(_KIND[type(record)], record.id),
                )
                if sid in recorded:
                    self._check_same(record, recorded[sid], given.get(sid))
                    self.report.skipped[kind] += 1
                    continue
                event = self._event(record)
            except KhronikaError as e:
                raise ImportError_(line.where, e, self.report) from None
            recorded[sid] = record
            given[sid] = line.where
            events.append(event)
        return events

    def _check_same(self, record: Named, first: Named, given: str | None) -> None:
        """A record already there is skipped if it is the record as it was
        first written or as it stands now (a release of this store); any other
        values are refused, naming them."""
        kind = _KIND[type(record)]
        if record == first:
            return
        if given is not None:
            raise DuplicateError(
                f"{kind} '{record.id}' was given already at {given}, with other "
                f"values in {', '.join(differs(first, record))}"
            )
        now = self._current(record)
        if record == now:
            return
        self._not_redacted(kind, record, now)
        raise DuplicateError.taken(kind, record.id, differs(now, record))

    def _not_redacted(self, kind: StreamKind, record: Named, now: Named) -> None:
        """DuplicateError naming the redaction if `record` would give back a
        value a redaction erased (a release made before it, say)."""
        found = self.app.redactions(kind, record.id)
        touched = {f for _, e in found if isinstance(e, Redacted)
                   for f in doc_fields(e.erased)}  # fmt: skip
        erased = [
            name for name in differs(now, record)
            if name in touched or holds_note(msgspec.to_builtins(getattr(now, name)))
        ]  # fmt: skip
        if not erased:
            return
        by = ""
        if found:
            position, last = found[-1]
            by = (f" by {last.recorded_by} on {stamp(last.timestamp)} (position "
                  f"{position}): {getattr(last, 'reason', '')}")  # fmt: skip
        raise DuplicateError(
            f"{kind} '{record.id}': the values of {', '.join(erased)} were "
            f"erased by a redaction{by}; an older copy of the record cannot "
            "bring them back"
        )

    def _current(self, record: Named) -> Named:
        if isinstance(record, SourceDoc):
            return self.catalogue.sources[record.id]
        if isinstance(record, EntityDoc):
            return self.catalogue.entities[record.id].doc
        return self.app.get(Fact, record.id).doc

    def _event(self, record: Named) -> Event:
        at = self.at
        if isinstance(record, FactDoc):
            fact = agg.record_fact(record, at, self.by, self.unchecked)
            self.catalogue.check_fact(record, self.app)
            self.app.check_citations(
                record.sources, "sources", self.catalogue, self.unchecked
            )
            self.catalogue.pending_facts[record.id] = record.kind
            self.batch_facts[record.id] = fact
            if (key := verdict_key(record)) is not None:
                self.report.verdicts.append(key)
            return fact
        event: Event
        if isinstance(record, SourceDoc):
            event = agg.add_source(record, at, self.by, record.sha256 in self.copies)
        else:
            event = agg.register_entity(record, at, self.by)
            names = [record.id, record.name, *record.aliases]
            found = self.catalogue.check_names_free(record.id, names, "name")
            self.app.warnings += found
        self.catalogue.add(event)
        return event

    def _amendment(self, record: Merge | Retraction) -> Event | None:
        """The merge or retraction's event; None if the store has it already."""
        at = self.at
        if isinstance(record, Merge):
            entity = self._entity(record.entity, "entity")
            if entity.merged_into == record.into:
                self.report.skipped["merge"] += 1
                return None
            into = self._entity(record.into, "into")
            event: Event = agg.merge(entity, into, record.reason, at, self.by)
            self.catalogue.add(event)
            return event
        fact = self._fact(record.fact)
        if fact.retracted:
            self.report.skipped["retraction"] += 1
            return None
        self.app.check_citations(
            record.sources, "sources", self.catalogue, self.unchecked
        )
        return agg.retract(fact, record.reason, record.sources, at, self.by)

    def _entity(self, slug: str, field: str) -> Entity:
        if slug not in self.catalogue.entities:
            self.catalogue.check(Reference(field, "entity", slug), None)
        return self.catalogue.entities[slug]

    def _fact(self, slug: str) -> Fact:
        if slug in self.batch_facts:
            state = agg.apply(None, self.batch_facts[slug])
            assert isinstance(state, Fact)
            return state
        self.catalogue.check(Reference("fact", "fact", slug), self.app)  # it exists
        return self.app.get(Fact, slug)
