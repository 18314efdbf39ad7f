"""The khronika application: commands that append events, queries that read them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

import msgspec
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.utils import Environment, get_topic

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Entity, Fact, Source
from khronika.domain.citations import check as citations_check
from khronika.domain.documents import Citation, EntityDoc, FactDoc, SourceDoc
from khronika.domain.errors import (
    ConflictError,
    DuplicateError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from khronika.domain.events import (
    Event,
    MaintainerAdded,
    MaintainerKeyRotated,
    MaintainerRevoked,
    Redacted,
    Role,
    SigningKeyRotated,
    kind_of,
    stamp,
)
from khronika.domain.ids import (
    SIGNING_KEY,
    SIGNING_KEY_STREAM,
    StreamKind,
    maintainer_stream,
    redaction_stream,
    stream_id,
)
from khronika.domain.rules import check_source
from khronika.domain.text import REASON_MAX, USER_MAX, check_line
from khronika.store import copies, redaction, signing
from khronika.store import location as loc
from khronika.store.catalogue import Catalogue
from khronika.store.checkpoint import Signer, Verifier
from khronika.store.clock import RecordClock, Stamper
from khronika.store.codec import MsgspecMapper, NullTranscoder, decode
from khronika.store.copies import Hashed
from khronika.store.signing import Hand, Member, Registry, SigningError
from khronika.store.sqlite import KhronikaSQLiteRecorder

REGISTRY_EVENTS = (MaintainerAdded, MaintainerKeyRotated, MaintainerRevoked)
MIRROR_OF = "mirror_of"  # the meta key of a mirror: the original's URL

FORMAT = "1"
# 1: nodes without positions; 2: one row per node, leaves with their event's
# log position; 3: tlog-tiles hash tiles (store/tiletree.py)
TREE_FORMAT = "3"
ROWS_FORMAT = "2"  # converted to tiles by `khronika upgrade` (convert_tree)
# Set in a store's meta while `migrate` copies into it; removed once the
# last event and copy are in. Its value says where the copy comes from.
UNFINISHED = "unfinished"
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
        unfinished: bool = False,
    ) -> None:
        """Open (or `create`) the store; one that `migrate` has not finished
        copying into is refused unless `unfinished` (migrate itself)."""
        self.location = location
        if create and loc.is_remote(location):
            raise StoreError(
                f"{location}: a served chronicle is made on its own machine "
                "(`khronika init` there, then `khronika serve --writable`)"
            )
        env = loc.environment(location)
        if loc.is_postgres(location):
            from khronika.store.postgres import probe  # needs psycopg

            probe(location, env)
        if loc.is_sqlite(location):
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
        if UNFINISHED in meta and not unfinished:
            raise StoreError(
                f"{loc.describe(location)} is an unfinished copy: `khronika "
                f"migrate` from {meta[UNFINISHED]} stopped before the last event "
                "and copy were in. Run the same `khronika migrate` again to "
                "finish it"
            )
        if "tree" not in meta:  # made by an earlier version: add what is new
            self.store.create_meta_table()
            self.rebuild_tree()
            self.store.drop_rows_tree()
            self.store.write_meta({"tree": TREE_FORMAT})
            meta = self.store.read_meta() or meta
        # a tree of one row per node is neither read nor grown until
        # `khronika upgrade` converts it (convert_tree)
        self.store.rows_format = meta.get("tree") == ROWS_FORMAT
        self.meta = meta
        self._texts: dict[str, str | None] = {}
        # Record time. Commands build events with a provisional time from
        # it; the recorder stamps them for good inside the transaction that
        # commits them, after the write lock, from the last time in the log
        # (khronika.store.clock explains why).
        self.clock = RecordClock(None)
        self.keep_catalogue = False
        self._kept: tuple[int, Catalogue] | None = None
        # Who signs this process's writes; None writes unsigned, which only a
        # store that has not begun signing takes, and only if not `signed_only`
        # (the CLI and the server set it: they never write unsigned).
        self.hand: Hand | None = None
        self.hand_problem: str | None = None  # why the user's key did not load
        self.signed_only = False
        # While `derive` runs a command, what it would save is kept here
        # instead: a served write re-runs the command to check an event.
        self._derived: list[Event] | None = None
        # What a command recorded but thinks a person should look at (a
        # name that looks like another entity's); the CLI prints them.
        self.warnings: list[str] = []

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
        if loc.is_sqlite(location):
            return _has_events_table(loc.sqlite_file(location))
        try:
            Chronicle(location, unfinished=True).close()
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

    def fact_kind(self, slug: str) -> str | None:
        """The kind of the fact `slug` as it stands; None if there is none."""
        return self.get(Fact, slug).doc.kind if self.exists("fact", slug) else None

    def history(self, kind: StreamKind, slug: str) -> list[tuple[int, Event]]:
        """A stream's events, each with its position in the whole log."""
        return [
            (n.id, decode(n.topic, n.state))
            for n in self.store.stream_notifications(stream_id(kind, slug))
        ]

    def redactions(self, kind: StreamKind, slug: str) -> list[tuple[int, Event]]:
        """The redactions of a record, each with its position in the log."""
        return [
            (n.id, decode(n.topic, n.state))
            for n in self.store.stream_notifications(redaction_stream(kind, slug))
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

    @property
    def origin(self) -> str:
        """The log's name in its checkpoints and signed intents."""
        return f"khronika/{self.meta['store_id']}"

    def registry(self, known_at: str | None = None) -> Registry:
        """The maintainers and their keys as the log says now (or at `known_at`,
        a record time as `stamp` writes it)."""
        registry = Registry(self.origin)
        for position, event in self.read_events(*REGISTRY_EVENTS):
            if known_at is not None and stamp(event.timestamp) > known_at:
                break
            problem = registry.admit(position, event)
            if problem is not None:
                raise StoreError(
                    f"the maintainer registry is broken at position {position}: "
                    f"{problem} (run `khronika verify`)"
                )
        return registry

    def begin_signing(self, store_key: Signer, name: str, key: Verifier) -> Event:
        """Register the first admin, signed by the store's own key."""
        if self.registry().began is not None:
            raise DuplicateError("this store has registered maintainers already")
        verifier = str(Verifier(store_key.name, store_key.key.public_key()))
        event = MaintainerAdded(
            originator_id=maintainer_stream(name), originator_version=1,
            timestamp=self.clock.now(), recorded_by=name, slug=name,
            key=str(key), role="admin", store_key=verifier,
        )  # fmt: skip
        hand = Hand(store_key.name, store_key)
        return self._save_new(signing.seal(event, hand, self.origin))

    def add_maintainer(self, name: str, key: Verifier, role: Role) -> Event:
        check_line("name", name, USER_MAX)
        event = MaintainerAdded(
            originator_id=maintainer_stream(name), originator_version=1,
            timestamp=self.clock.now(), recorded_by=name, slug=name,
            key=str(key), role=role,
        )  # fmt: skip
        return self._save_new(event)

    def rotate_maintainer(self, name: str, key: Verifier, reason: str) -> Event:
        version = self._maintainer_version(name)
        event = MaintainerKeyRotated(
            originator_id=maintainer_stream(name), originator_version=version + 1,
            timestamp=self.clock.now(), recorded_by=name, slug=name,
            key=str(key),
            reason=check_line("reason", reason, REASON_MAX, required=False),
        )  # fmt: skip
        return self._save_next(event)

    def revoke_maintainer(self, name: str, reason: str) -> Event:
        version = self._maintainer_version(name)
        if not reason.strip():
            raise ValidationError("reason", "say why (a non-empty reason is required)")
        event = MaintainerRevoked(
            originator_id=maintainer_stream(name), originator_version=version + 1,
            timestamp=self.clock.now(), recorded_by=name, slug=name,
            reason=check_line("reason", reason, REASON_MAX),
        )  # fmt: skip
        return self._save_next(event)

    def _maintainer_version(self, name: str) -> int:
        last = self.recorder.select_events(maintainer_stream(name), desc=True, limit=1)
        if not last:
            names = ", ".join(sorted(self.registry().current)) or "none"
            raise NotFoundError("maintainer", name, note=f"registered: {names}")
        return last[0].originator_version

    def _sealed(self, events: Sequence[Event]) -> list[Event]:
        """The events as this process's maintainer signs them.

        Every event, whether signed here or before (a served write, the
        first admin's registration), is admitted against the registry as it
        stands, as `verify` will admit it later: an unregistered, retired or
        revoked key, or a maintainer making an admin's change, is refused.
        """
        if MIRROR_OF in self.meta:
            raise StoreError(
                f"this store mirrors {self.meta[MIRROR_OF]}: it takes no writes of "
                "its own; write to the original, and `khronika mirror` copies them"
            )
        registry = self.registry()
        here = [e.seal is None for e in events]  # sealed by this process now
        if any(here):
            if self.hand is None and registry.began is None and not self.signed_only:
                return list(events)  # a store that has not begun signing
            hand = self._signing_hand(registry)
            events = [
                e if e.seal else signing.seal(e, hand, self.origin) for e in events
            ]
        self.admit(events, registry, here)
        return list(events)

    def admit(
        self,
        events: Sequence[Event],
        registry: Registry | None = None,
        sealed_here: Sequence[bool] = (),
    ) -> None:
        """SigningError unless each sealed event stands against the registry,
        taken in as if appended now (a registry change counts for the next).
        An event sealed here is not checked again against its own signature."""
        registry = self.registry() if registry is None else registry
        head = self.recorder.max_notification_id() or 0
        here = list(sealed_here) or [False] * len(events)
        for position, (event, mine) in enumerate(zip(events, here, strict=True),
                                                 start=head + 1):  # fmt: skip
            problem = registry.admit(position, event, sealed_here=mine)
            if problem is not None:
                raise SigningError(f"{event.slug}: {problem}")

    def _signing_hand(self, registry: Registry) -> Hand:
        if self.hand is None:
            if self.hand_problem and registry.began is not None:
                raise SigningError(self.hand_problem)
            raise SigningError(_no_key(registry.began is None))
        member = registry.keys.get(self.hand.key)
        if member is None or member.until is not None:
            raise SigningError(_not_registered(self.hand, member))
        return Hand(member.name, self.hand.signer)

    def rebuild_tree(self) -> int:
        """Build the Merkle tree afresh from the stored events."""
        return self.store.rebuild_tree(self.pages())

    def convert_tree(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Convert a tree of one row per node into tiles (resumable); the
        number of leaves, or -1 if the tree was in tiles already."""
        if not self.store.rows_format:
            return -1
        self.store.create_meta_table()  # the tiles' table
        total = self.store.tiles_from_rows(TREE_FORMAT, on_progress=on_progress)
        self.meta["tree"] = TREE_FORMAT
        return total

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
        return self.store.copy_size(sha256) if sha256 else None

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
    def add_source(
        self, doc: SourceDoc, by: str, copy: bytes | Hashed | None = None
    ) -> Event:
        """Record a source; with `copy`, store it first (streamed, if it
        comes from a file: store/copies.py) and name it by its hash."""
        if copy is not None:
            check_source(doc)  # a bad document stores no copy
            sha256 = self._store_copy(copy)
            doc = msgspec.structs.replace(doc, sha256=sha256)
        event = agg.add_source(doc, self.clock.now(), by, copy is not None)
        return self._save_new(event)

    def attach_copy(self, slug: str, copy: bytes | Hashed, by: str) -> Event | None:
        """Store an archived copy of a source; an event if it is a new one."""
        source = self.get(Source, slug)
        sha256 = self._store_copy(copy)
        if source.doc.sha256 == sha256:
            return None
        return self._save_next(agg.attach_copy(source, sha256, self.clock.now(), by))

    def _store_copy(self, copy: bytes | Hashed) -> str:
        """Store the copy; its SHA-256."""
        hashed = copies.of_bytes(copy) if isinstance(copy, bytes) else copy
        self.store.store_copy(hashed)
        return hashed.sha256

    def correct_source(
        self, slug: str, changes: dict[str, Any], reason: str, by: str
    ) -> Event:
        source = self.get(Source, slug)
        event = agg.correct_source(source, changes, reason, self.clock.now(), by)
        return self._save_next(event)

    def register_entity(self, doc: EntityDoc, by: str) -> Event:
        event = agg.register_entity(doc, self.clock.now(), by)
        doc = event.doc
        names = [doc.id, doc.name, *doc.aliases]
        found = self.catalogue().check_names_free(doc.id, names, "name")
        saved = self._save_new(event)
        self._warn(found)
        return saved

    def append_fact(self, doc: FactDoc, by: str, unchecked: str = "") -> Event:
        event = agg.record_fact(doc, self.clock.now(), by, unchecked)
        catalogue = self.catalogue()
        catalogue.check_fact(doc, self)
        self.check_citations(doc.sources, "sources", catalogue, unchecked)
        return self._save_new(event)

    def add_alias(self, slug: str, alias: str, by: str) -> Event:
        entity = self.get(Entity, slug)
        event = agg.add_alias(entity, alias, self.clock.now(), by)
        found = self.catalogue().check_names_free(slug, [event.alias], "alias")
        saved = self._save_next(event)
        self._warn(found)
        return saved

    def rename(self, slug: str, name: str, reason: str, by: str) -> Event:
        entity = self.get(Entity, slug)
        event = agg.rename(entity, name, reason, self.clock.now(), by)
        found = self.catalogue().check_names_free(slug, [event.name], "name")
        saved = self._save_next(event)
        self._warn(found)
        return saved

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

    def redact(
        self,
        kind: StreamKind,
        slug: str,
        fields: Sequence[str],
        reason: str,
        legal_basis: str = "",
        by: str = "",
    ) -> Event:
        """Erase the stored values of `fields` in every version of a record,
        in the transaction that stores the admin's signed `Redacted` event.

        The views and the files still hold the old bytes: the caller rebuilds
        the views and scrubs the store (store/scrub.py), as `redact` does.
        """
        check_line("reason", reason, REASON_MAX)
        if legal_basis:
            check_line("legal-basis", legal_basis, REASON_MAX)
        if not reason.strip():
            raise ValidationError("reason", "say why the values are erased")
        history = self.store.stream_notifications(stream_id(kind, slug))
        if not history:
            raise self.catalogue().not_found(kind, slug, self)
        erased, erase = redaction.plan(slug, history, fields, reason)
        stream = redaction_stream(kind, slug)
        last = self.recorder.select_events(stream, desc=True, limit=1)
        event = Redacted(
            originator_id=stream,
            originator_version=last[0].originator_version + 1 if last else 1,
            timestamp=self.clock.now(), recorded_by=by, slug=slug, kind=kind,
            fields=list(fields), reason=reason, legal_basis=legal_basis,
            erased=erased,
        )  # fmt: skip
        if self._derived is not None:
            raise SigningError("a redaction is made on the store's own machine")
        stamper = Stamper(self.clock)
        try:
            self.events.put(self._sealed([event]), stamper=stamper, erase=erase)
        except IntegrityError:
            raise ConflictError(slug, event.originator_version - 1) from None
        (stored,) = stamper.stamped
        saved: Event = decode(stored.topic, stored.state)
        return saved

    def _warn(self, found: list[str]) -> None:
        if self._derived is None:  # a served write's re-run warns no one
            self.warnings += found

    def derive(self, command: Callable[[], object]) -> list[Event]:
        """The events `command` would save, checked as it checks them, unsaved.

        A served write re-runs the maintainer's command with this, so the
        server checks everything the CLI checked, with the same code.
        """
        self._derived = []
        try:
            command()
            return self._derived
        finally:
            self._derived = None

    def save_batch(self, events: Sequence[Event]) -> list[StoredEvent]:
        """Append many events in one transaction: all of them or none.

        Returns them as stored, with the record time of their commit.
        """
        if self._derived is not None:
            self._derived.extend(events)
            return []
        events = self._sealed(events)
        stamper = Stamper(self.clock)
        try:  # the event store directly: save() adds per-event Protocol checks
            self.events.put(events, stamper=stamper)
        except IntegrityError as e:
            raise DuplicateError(
                "another writer added some of these records meanwhile; "
                "import again to skip what is there now"
            ) from e
        return stamper.stamped

    def _stamped_save(self, event: Event) -> Event:
        """Save `event`; it as stored, with the record time of its commit."""
        if self._derived is not None:
            self._derived.append(event)
            return event
        stamper = Stamper(self.clock)
        (event,) = self._sealed([event])
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


def _no_key(unsigned_store: bool) -> str:
    if unsigned_store:
        return (
            "this store was made before writes were signed: run `khronika "
            "upgrade` to register its first admin, signed by the store's key"
        )
    return (
        f"no maintainer key at {signing.maintainer_key_path()}: every write "
        "is signed. Run `khronika key new`, then ask an admin of this store "
        "to run `khronika maintainer add YOUR-NAME --pubkey YOUR.pub`"
    )


def _not_registered(hand: Hand, member: Member | None) -> str:
    if member is None:
        return (
            f"your key {hand.key} is not registered in this store: ask an "
            "admin to run `khronika maintainer add YOUR-NAME --pubkey "
            f"{signing.maintainer_key_path().with_suffix('.pub')}`"
        )
    state = "revoked" if member.revoked else "retired by a key rotation"
    return f"the key {hand.key} of {member.name} was {state}; it signs nothing now"


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
