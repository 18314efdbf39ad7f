"""The khronika application: commands that append events, queries that read them."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Notification, PersistenceError
from eventsourcing.utils import Environment, get_topic

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Entity, Fact, Source
from khronika.domain.citations import check as citations_check
from khronika.domain.documents import Citation, EntityDoc, FactDoc, SourceDoc
from khronika.domain.errors import ConflictError, DuplicateError, StoreError
from khronika.domain.events import Event, SigningKeyRotated, kind_of
from khronika.domain.ids import SIGNING_KEY, SIGNING_KEY_STREAM, StreamKind, stream_id
from khronika.store import location as loc
from khronika.store.catalogue import Catalogue
from khronika.store.clock import RecordClock, Stamper
from khronika.store.codec import MsgspecMapper, NullTranscoder, decode
from khronika.store.sqlite import KhronikaSQLiteRecorder

FORMAT = "1"
TREE_FORMAT = "2"  # leaves record their event's log position
A = TypeVar("A", bound=agg.Aggregate)
_KINDS: dict[type[agg.Aggregate], StreamKind] = {
    Fact: "fact",
    Entity: "entity",
    Source: "source",
}


class Chronicle(Application[UUID]):
    """The event store of one chronicle, at a SQLite path or PostgreSQL URL."""

    name = "khronika"

    def __init__(
        self,
        location: str,
        *,
        create: bool = False,
        identity: dict[str, str] | None = None,
    ) -> None:
        self.location = location
        env = loc.environment(location)
        if not loc.is_postgres(location):
            path = loc.sqlite_file(location)
            if not path.exists() and not create:
                raise StoreError(
                    f"no store at {location}; create one with `khronika init` "
                    "(or load the example with `khronika demo`)"
                )
            if create:
                _check_can_create(path)
        env["CREATE_TABLE"] = "y" if create else "n"
        super().__init__(env=env)
        if create:  # the recorder made khronika's tables with its own
            self.store.write_meta(
                {
                    "store_id": str(uuid4()),
                    "format": FORMAT,
                    "created_at": datetime.now(UTC).isoformat(),
                    "tree": TREE_FORMAT,
                }
                | (identity or {})
            )
            self._create_views(env)
        meta = self.store.read_meta()
        if meta is None or "store_id" not in meta:
            raise StoreError(
                f"{loc.describe(location)} is not a khronika store; "
                "run `khronika init` to make one"
            )
        if "tree" not in meta:  # made by an earlier version: add what is new
            self.store.create_meta_table()
            self.rebuild_tree()
            self.store.write_meta({"tree": TREE_FORMAT})
        self.meta = meta
        self._texts: dict[str, str | None] = {}
        # Record time. Commands build events with a provisional time from
        # it; the recorder stamps them for good inside the transaction that
        # commits them, after the write lock, from the last time in the log
        # (khronika.store.clock explains why).
        self.clock = RecordClock(None)
        self.keep_catalogue = False
        self._kept: tuple[int, Catalogue] | None = None

    @staticmethod
    def _create_views(env: dict[str, str]) -> None:
        """The read-side tables, empty, in this version's format."""
        from khronika.projections.views import open_views  # views read the store

        views = open_views(env)
        views.upgrade()
        views.datastore.close()

    @staticmethod
    def is_store(location: str) -> bool:
        """Whether a khronika store is at `location` already."""
        if not loc.is_postgres(location):
            return _has_events_table(loc.sqlite_file(location))
        try:
            Chronicle(location).close()
        except (StoreError, PersistenceError):
            return False
        return True

    # eventsourcing wiring: our env only (not os.environ), msgspec mapper.
    def construct_env(self, name: str, env: Any = None) -> Environment:
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> MsgspecMapper:
        return MsgspecMapper(transcoder=NullTranscoder())

    @property
    def store(self) -> KhronikaSQLiteRecorder:
        """The recorder with khronika's methods; the PostgreSQL one has the same."""
        return cast(KhronikaSQLiteRecorder, self.recorder)

    # -- reading streams ---------------------------------------------------
    def get(self, cls: type[A], slug: str) -> A:
        """The current state of the `cls` record named `slug`."""
        kind = _KINDS[cls]
        try:
            state = self.repository.get(
                stream_id(kind, slug), projector_func=agg.project
            )
        except AggregateNotFoundError:
            raise self.catalogue().not_found(kind, slug, self) from None
        if not isinstance(state, cls):
            raise StoreError(
                f"stream of {kind} '{slug}' holds a {type(state).__name__}"
            )
        return state

    def exists(self, kind: StreamKind, slug: str) -> bool:
        return bool(self.recorder.select_events(stream_id(kind, slug), limit=1))

    def history(self, kind: StreamKind, slug: str) -> list[tuple[int, Event]]:
        """A stream's events, each with its position in the whole log."""
        return [
            (n.id, decode(n.topic, n.state))
            for n in self.store.stream_notifications(stream_id(kind, slug))
        ]

    def pages(
        self, topics: Sequence[str] = (), page: int = 1000, start: int = 1
    ) -> Iterator[Sequence[Notification]]:
        """The stored events from `start` in log order, a page at a time."""
        while True:
            batch = self.recorder.select_notifications(start, page, topics=topics)
            if batch:
                yield batch
            if len(batch) < page:
                return
            start = batch[-1].id + 1

    def notifications(
        self, topics: Sequence[str] = (), page: int = 1000, start: int = 1
    ) -> Iterator[Notification]:
        """Every stored event from `start` in log order."""
        for batch in self.pages(topics, page, start):
            yield from batch

    def read_events(self, *types: type[Event]) -> Iterator[tuple[int, Event]]:
        topics = [get_topic(t) for t in types]
        for n in self.notifications(topics):
            yield n.id, decode(n.topic, n.state)

    def rebuild_tree(self) -> int:
        """Build the Merkle tree afresh from the stored events."""
        return self.store.rebuild_tree(self.pages())

    def read_after(self, position: int) -> Iterator[tuple[int, Event]]:
        """Every event after log position `position`, for the views."""
        for n in self.notifications(start=position + 1):
            yield n.id, decode(n.topic, n.state)

    def catalogue(self) -> Catalogue:
        """Every source and entity, read from the log.

        With `keep_catalogue` (a reader that never writes, such as the
        server), it is kept until the log grows; writers change it as they
        go, so they always read it afresh.
        """
        if not self.keep_catalogue:
            return Catalogue.load(self.read_events(*Catalogue.EVENT_TYPES))
        head = self.recorder.max_notification_id() or 0
        if self._kept is None or self._kept[0] != head:
            loaded = Catalogue.load(self.read_events(*Catalogue.EVENT_TYPES))
            self._kept = (head, loaded)
        return self._kept[1]

    def copy_bytes(self, sha256: str | None) -> int | None:
        """The size of the stored archived copy, or None if none is stored."""
        content = self.store.get_copy(sha256) if sha256 else None
        return None if content is None else len(content)

    def fact_slugs(self) -> Iterator[str]:
        return Catalogue.fact_slugs(self.notifications(Catalogue.FACT_TOPICS))

    # -- archived copies and checked citations ------------------------------
    def text_of(self, sha256: str | None) -> str | None:
        """The stored copy with this hash as text; None if absent or binary."""
        if sha256 is None:
            return None
        if sha256 not in self._texts:
            content = self.store.get_copy(sha256)
            try:
                self._texts[sha256] = None if content is None else content.decode()
            except UnicodeDecodeError:
                self._texts[sha256] = None
        return self._texts[sha256]

    def check_citations(
        self,
        citations: list[Citation],
        field: str,
        catalogue: Catalogue,
        unchecked: str = "",
    ) -> None:
        """Each citation's source exists; and, unless `unchecked` says why not,
        the citation matches its source's stored copy, where there is one."""
        catalogue.check_citations(citations, field)
        if unchecked:
            return
        for i, citation in enumerate(citations):
            text = self.text_of(catalogue.sources[citation.source].sha256)
            if text is not None:
                citations_check(citation, text, f"{field}[{i}]")

    # -- commands ---------------------------------------------------------
    def add_source(self, doc: SourceDoc, by: str, copy: bytes | None = None) -> Event:
        if copy is not None:
            doc = msgspec.structs.replace(doc, sha256=hashlib.sha256(copy).hexdigest())
        event = agg.add_source(doc, self.clock.now(), by, copy is not None)
        if copy is not None:
            self.store.put_copy(hashlib.sha256(copy).hexdigest(), copy)
        return self._save_new(event)

    def attach_copy(self, slug: str, copy: bytes, by: str) -> Event | None:
        """Store an archived copy of a source; an event if it is a new one."""
        source = self.get(Source, slug)
        sha256 = hashlib.sha256(copy).hexdigest()
        self.store.put_copy(sha256, copy)
        if source.doc.sha256 == sha256:
            return None
        return self._save_next(agg.attach_copy(source, sha256, self.clock.now(), by))

    def correct_source(
        self, slug: str, changes: dict[str, Any], reason: str, by: str
    ) -> Event:
        source = self.get(Source, slug)
        event = agg.correct_source(source, changes, reason, self.clock.now(), by)
        return self._save_next(event)

    def register_entity(self, doc: EntityDoc, by: str) -> Event:
        event = agg.register_entity(doc, self.clock.now(), by)
        names = [doc.id, doc.name, *doc.aliases]
        self.catalogue().check_names_free(doc.id, names, "name")
        return self._save_new(event)

    def append_fact(self, doc: FactDoc, by: str, unchecked: str = "") -> Event:
        event = agg.record_fact(doc, self.clock.now(), by, unchecked)
        catalogue = self.catalogue()
        catalogue.check_fact(doc, self)
        self.check_citations(doc.sources, "sources", catalogue, unchecked)
        return self._save_new(event)

    def add_alias(self, slug: str, alias: str, by: str) -> Event:
        entity = self.get(Entity, slug)
        event = agg.add_alias(entity, alias, self.clock.now(), by)
        self.catalogue().check_names_free(slug, [event.alias], "alias")
        return self._save_next(event)

    def rename(self, slug: str, name: str, reason: str, by: str) -> Event:
        entity = self.get(Entity, slug)
        event = agg.rename(entity, name, reason, self.clock.now(), by)
        self.catalogue().check_names_free(slug, [event.name], "name")
        return self._save_next(event)

    def merge(self, slug: str, into: str, reason: str, by: str) -> Event:
        entity, target = self.get(Entity, slug), self.get(Entity, into)
        event = agg.merge(entity, target, reason, self.clock.now(), by)
        return self._save_next(event)

    def correct(
        self,
        slug: str,
        changes: dict[str, Any],
        reason: str,
        sources: list[Citation],
        by: str,
        unchecked: str = "",
    ) -> Event:
        fact = self.get(Fact, slug)
        now = self.clock.now()
        event = agg.correct(fact, changes, reason, sources, now, by, unchecked)
        catalogue = self.catalogue()
        new_doc = agg.apply_correction(fact.doc, event)
        catalogue.check_fact(new_doc, self)
        self.check_citations(sources, "source", catalogue, unchecked)
        if "sources" in changes:
            self.check_citations(new_doc.sources, "sources", catalogue, unchecked)
        return self._save_next(event)

    def retract(
        self,
        slug: str,
        reason: str,
        sources: list[Citation],
        by: str,
        unchecked: str = "",
    ) -> Event:
        fact = self.get(Fact, slug)
        event = agg.retract(fact, reason, sources, self.clock.now(), by, unchecked)
        self.check_citations(sources, "source", self.catalogue(), unchecked)
        return self._save_next(event)

    def record_key(self, key: str, previous: str, reason: str, by: str) -> Event:
        """Record that checkpoints are signed with the verifier key `key` from now."""
        last = self.recorder.select_events(SIGNING_KEY_STREAM, desc=True, limit=1)
        version = last[0].originator_version + 1 if last else 1
        event = SigningKeyRotated(
            originator_id=SIGNING_KEY_STREAM, originator_version=version,
            timestamp=self.clock.now(), recorded_by=by, slug=SIGNING_KEY,
            key=key, previous=previous, reason=reason,
        )  # fmt: skip
        return self._save_new(event) if version == 1 else self._save_next(event)

    def save_batch(self, events: Sequence[Event]) -> None:
        """Append many events in one transaction: all of them or none."""
        try:  # the event store directly: save() adds per-event Protocol checks
            self.events.put(events, stamper=Stamper(self.clock))
        except IntegrityError as e:
            raise DuplicateError(
                "another writer added some of these records meanwhile; "
                "import again to skip what is there now"
            ) from e

    def _stamped_save(self, event: Event) -> Event:
        """Save `event`; it as stored, with the record time of its commit."""
        stamper = Stamper(self.clock)
        self.save(event, stamper=stamper)
        (stored,) = stamper.stamped
        saved: Event = decode(stored.topic, stored.state)
        return saved

    def _save_new(self, event: Event) -> Event:
        try:
            return self._stamped_save(event)
        except IntegrityError:
            raise DuplicateError.taken(kind_of(event), event.slug) from None

    def _save_next(self, event: Event) -> Event:
        try:
            return self._stamped_save(event)
        except IntegrityError:
            (last,) = self.recorder.select_events(
                event.originator_id, desc=True, limit=1
            )
            raise ConflictError(event.slug, last.originator_version) from None


def open_store(location: str | None = None, *, create: bool = False) -> Chronicle:
    return Chronicle(loc.resolve(location), create=create)


def _tables(path: Path) -> set[str]:
    """The tables of an SQLite file, read without writing to it."""
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master")}


def _has_events_table(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    try:
        return "stored_events" in _tables(path)
    except sqlite3.Error:
        return False


def _check_can_create(path: Path) -> None:
    """Make the store's folder; refuse a file that is some other database.

    `init` must not turn someone's SQLite database into a khronika store:
    an existing file is taken only if it is empty or a khronika store.
    """
    for folder in (path.parent, *path.parent.parents):
        if folder.exists() and not folder.is_dir():
            raise StoreError(
                f"cannot create the store at {path}: {folder} is a file, not a folder"
            )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"cannot create the store at {path}: {e.strerror} ({e.filename})"
        ) from None
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        tables = _tables(path)
    except sqlite3.DatabaseError as e:
        raise StoreError(
            f"{path}: not a khronika store, or the store is damaged ({e}); "
            "init leaves it alone (`khronika verify` checks a store that still opens)"
        ) from None
    if tables and "stored_events" not in tables:
        raise StoreError(
            f"{path}: an SQLite database that is not a khronika store "
            f"(it has {', '.join(sorted(tables)[:3])}); init will not convert "
            "it: choose another path"
        )
