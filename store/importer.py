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

import msgspec

from khronika.domain import aggregates as agg
from khronika.domain.documents import EntityDoc, FactDoc, Record, SourceDoc, differs
from khronika.domain.errors import DuplicateError, KhronikaError, ValidationError
from khronika.domain.events import Event, kind_of
from khronika.domain.ids import StreamKind, stream_id
from khronika.domain.parse import MAX_DOCUMENT_BYTES, decode
from khronika.store.app import Chronicle
from khronika.store.codec import decode as decode_event

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


class ImportError_(KhronikaError):
    """A record failed; the batches before it are in the store."""

    def __init__(self, where: str, error: KhronikaError, report: ImportReport):
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
    if not path.is_dir():
        return [path]
    files = [path / name for name in BUNDLE_FILES if (path / name).exists()]
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


_KIND: dict[type, StreamKind] = {
    SourceDoc: "source",
    EntityDoc: "entity",
    FactDoc: "fact",
}


class Importer:
    def __init__(
        self,
        app: Chronicle,
        by: str,
        batch_size: int = DEFAULT_BATCH,
        dry_run: bool = False,
        on_progress: Callable[[int], None] | None = None,
        unchecked: str = "",
    ) -> None:
        self.app = app
        self.by = by
        self.batch_size = batch_size
        self.dry_run = dry_run
        self.on_progress = on_progress
        self.unchecked = unchecked
        self.catalogue = app.catalogue()
        self.report = ImportReport()

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
                self.report.added[kind_of(event)] += 1
            self.catalogue.pending_facts.clear()
        if self.on_progress is not None:
            self.on_progress(read)

    def _events(self, batch: list[tuple[Line, Record]]) -> list[Event]:
        ids = [stream_id(_KIND[type(record)], record.id) for _, record in batch]
        recorded = {
            sid: decode_event(s.topic, s.state).doc
            for sid, s in self.app.store.first_events(ids).items()
        }
        events: list[Event] = []
        for (line, record), sid in zip(batch, ids, strict=True):
            kind = _KIND[type(record)]
            try:
                if sid in recorded:
                    if recorded[sid] != record:
                        raise DuplicateError.taken(
                            kind, record.id, differs(recorded[sid], record)
                        )
                    self.report.skipped[kind] += 1
                    continue
                event = self._event(record)
            except KhronikaError as e:
                raise ImportError_(line.where, e, self.report) from None
            recorded[sid] = record
            events.append(event)
        return events

    def _event(self, record: Record) -> Event:
        at = self.app.clock.now()
        if isinstance(record, FactDoc):
            fact = agg.record_fact(record, at, self.by, self.unchecked)
            self.catalogue.check_fact(record, self.app)
            self.app.check_citations(
                record.sources, "sources", self.catalogue, self.unchecked
            )
            self.catalogue.pending_facts.add(record.id)
            return fact
        event: Event
        if isinstance(record, SourceDoc):
            event = agg.add_source(record, at, self.by)
        else:
            event = agg.register_entity(record, at, self.by)
            names = [record.id, record.name, *record.aliases]
            self.catalogue.check_names_free(record.id, names, "name")
        self.catalogue.add(event)
        return event
