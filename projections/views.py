"""Keeping the read-side tables current, with eventsourcing's tracking.

Each batch of events and the new tracking position are written in one
transaction, so the views are never ahead of or behind what they say.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.persistence import InfrastructureFactory, PersistenceError, Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import Environment

from khronika.domain import aggregates as agg
from khronika.domain import lenient
from khronika.domain.aggregates import Entity, Source
from khronika.domain.documents import Article, EntityDoc, FactDoc, SourceDoc
from khronika.domain.errors import KhronikaError, StoreError
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    MaintainerEvent,
    Redacted,
    SigningKeyRotated,
    SourceAdded,
    SourceCopyAttached,
    SourceCorrected,
    stamp,
)
from khronika.domain.ids import stream_id
from khronika.projections import deadline, schema
from khronika.projections.rows import (
    FactVersion,
    Row,
    entity_row,
    fact_rows,
    source_row,
)
from khronika.store import integrity
from khronika.store.location import read_only, sqlite_file

NAME = "khronika-views"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # views keep no aggregate timestamps
LOCK_TIMEOUT = 30  # seconds a writer of SQLite views waits for the lock
BATCH = 1000  # events per transaction, and per round of statements
LOAD = 25_000  # events per transaction when loading into empty views
Positioned = tuple[int, Event]


_NAMED = re.compile(r"(?<![\w:]):([a-z_][a-z0-9_]*)")


class ViewStore:
    """The read-side tables and their tracking position, beside the events.

    Adapters mix this into an eventsourcing tracking recorder and say how
    to spell a query (`_q`) and which tracking table they use.
    """

    datastore: Any
    tracking_table: str
    events_table = "stored_events"  # the store's log, beside the views
    event_position = "rowid"  # its column of log positions
    collate = ""
    lag = 0  # events the views are behind the log, when they may not catch up
    behind_why = ""  # why they did not, for a person

    def _q(self, sql: str) -> str:
        return sql

    def _enter(self, c: Any) -> None:
        """Prepare a transaction's cursor (PostgreSQL: the search path)."""

    def indexed_by(self, index: str) -> str:
        """SQL after a table's name that makes SQLite read it through `index`
        (its planner has no statistics to choose by); PostgreSQL's has. None
        while the index is not there (a load into empty views drops it until
        its end): a slower answer, not an error."""
        there = self.query(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", [index]
        )
        return f" INDEXED BY {index}" if there else ""

    def _insert_tracking(self, c: Any, tracking: Tracking) -> None:
        raise NotImplementedError

    def max_tracking_id(self, application_name: str) -> int | None:
        raise NotImplementedError

    def _max_tracking_id(self, application_name: str, c: Any) -> int | None:
        raise NotImplementedError

    def position(self) -> int:
        """The last event the views hold; StoreError if the stored position
        is not a whole number (SQLite keeps whatever a hand writes there)."""
        return _whole(self.max_tracking_id(NAME) or 0)

    @contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """One read transaction in which the log's head, the views' position
        and the view rows are read as they stood at one moment, whatever a
        writer or a catching-up reader commits meanwhile."""
        with self.datastore.transaction(commit=False) as c:
            self._repeatable(c)
            self._enter(c)
            yield Snapshot(self, c)

    def _repeatable(self, c: Any) -> None:
        """Make this transaction read one snapshot (SQLite's always does)."""

    def _lock(self, c: Any) -> None:
        """Hold the views' write lock for the rest of the transaction."""
        c.execute(
            self._q(f"UPDATE {self.tracking_table} SET notification_id = "
                    "notification_id WHERE application_name = ?"),
            [NAME],
        )  # fmt: skip

    def _try_lock(self, c: Any) -> bool:
        """Take the views' write lock if no one holds it; False if someone does."""
        raise NotImplementedError

    def catch_up(
        self,
        read_after: Callable[[int], Iterable[Positioned]],
        on_progress: Callable[[int], None] | None = None,
        *,
        wait: bool = True,
    ) -> int:
        """Project every event after the tracking position; return how many.

        Each transaction is taken under the views' lock, from the position as
        it stands inside that transaction, so readers catching up at once take
        turns instead of projecting the same events twice. A catch-up holds
        the lock for BATCH events at a time; a load into empty views (a
        rebuild, the first read after an import) for LOAD events, and builds
        the DEFERRED indexes once at its end. Without `wait`, it stops (with
        what it did) where another process holds the lock.
        """
        done, limit = 0, BATCH
        while True:
            with self.datastore.transaction(commit=True) as c:
                self._enter(c)
                if wait:
                    self._lock(c)
                elif not self._try_lock(c):
                    return done
                position = self._max_tracking_id(NAME, c) or 0
                events = iter(read_after(position))
                batch = list(islice(events, BATCH))
                if not batch:  # a load ends, or one cut short is finished
                    self._build_indexes(c)
                    return done
                if position == 0 and len(batch) == BATCH and self._empty(c):
                    if self._may_index(c):
                        self._load_into(c)
                    limit = LOAD  # for the rest of this load
                projected = 0
                while batch:
                    _Batch(c, self._q).project(batch)
                    projected += len(batch)
                    last = batch[-1][0]
                    if on_progress is not None:
                        on_progress(done + projected)
                    if projected >= limit:
                        break
                    batch = list(islice(events, BATCH))
                self._insert_tracking(c, Tracking(NAME, last))
            done += projected

    def follow(self, after: int, batch: list[Positioned]) -> bool:
        """Project `batch`, the events read from the log after position
        `after`, if the views still stand there; False if not (another
        process moved them on: read again). Positions may have gaps
        (PostgreSQL's). The rows are worked out in a read transaction, so
        that the views' lock (waited for) is held only while they are
        written."""
        with self.datastore.transaction(commit=False) as c:
            self._enter(c)
            if (self._max_tracking_id(NAME, c) or 0) != after:
                return False
            rows = _Batch(c, self._q)
            rows.add(batch)
        with self.datastore.transaction(commit=True) as c:
            self._enter(c)
            self._lock(c)
            if (self._max_tracking_id(NAME, c) or 0) != after:
                return False  # another process projected some meanwhile
            rows.write(c)
            self._insert_tracking(c, Tracking(NAME, batch[-1][0]))
        return True

    def begin_load(self) -> bool:
        """Before a bulk write into views that hold no fact: drop the indexes
        a load builds at its end (`build_indexes`), as a catch-up's load
        does. False, and nothing done, if they hold one."""
        if not self.may_write():
            return False
        with self.datastore.transaction(commit=True) as c:
            self._enter(c)
            if not self._try_lock(c) or not self._empty(c) or not self._may_index(c):
                return False
            self._load_into(c)
        return True

    def build_indexes(self) -> None:
        """Build the indexes a load dropped (none if they are there)."""
        with self.datastore.transaction(commit=True) as c:
            self._enter(c)
            self._lock(c)
            self._build_indexes(c)

    def _empty(self, c: Any) -> bool:
        c.execute("SELECT 1 FROM view_facts LIMIT 1")
        return c.fetchone() is None

    def _load_into(self, c: Any) -> None:
        """Prepare empty views for a load: drop the indexes it builds at its end."""
        for name in sorted(schema.DEFERRED):
            c.execute(f"DROP INDEX IF EXISTS {name}")

    def index_names(self) -> set[str]:
        """The names of the indexes in the views' database (or schema)."""
        with self.datastore.transaction(commit=False) as c:
            self._enter(c)
            return self._index_names(c)

    def _index_names(self, c: Any) -> set[str]:
        raise NotImplementedError

    def _may_index(self, c: Any) -> bool:
        """Whether this connection may drop and create the views' indexes."""
        return True

    def _build_indexes(self, c: Any) -> None:
        """Build the views' indexes that are missing (after a load)."""
        if schema.DEFERRED <= self._index_names(c) or not self._may_index(c):
            return
        for table in schema.TABLES:
            for statement in schema.index_statements(table, deferred=True):
                c.execute(statement)

    def may_write(self) -> bool:
        """Whether this connection may bring the views up to date."""
        return True

    def damage(self) -> str | None:
        """What the database finds wrong with the view tables and their
        indexes (an index missing rows, say); None if nothing."""
        return None

    def check_format(self) -> None:
        """Refuse views that are missing or of an older format, naming the fix."""
        try:
            rows = self.query("SELECT format FROM view_format")
        except PersistenceError:  # no such table
            rows = []
        formats = [row["format"] for row in rows]
        found = ", ".join(map(str, formats)) if formats else None
        if formats != [schema.FORMAT]:
            what = (
                f"has views of format {found}"
                if found
                else "has no views of a known format"
            )
            raise StoreError(
                f"this store {what}; this version reads format {schema.FORMAT}. "
                "Run `khronika upgrade` once (it rebuilds the views from the "
                "events, which it does not touch)"
            )

    def rebuild(
        self,
        read_after: Callable[[int], Iterable[Positioned]],
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Rebuild the views from the first event; return how many it read."""
        self.upgrade()
        return self.catch_up(read_after, on_progress)

    def upgrade(self) -> None:
        """(Re)create the view tables in this version's format, empty."""
        with self.datastore.transaction(commit=True) as c:
            self._enter(c)
            self._lock(c)
            self._recreate(c)

    def _recreate(self, c: Any) -> None:
        for statement in schema.drop_statements(self.collate):
            c.execute(statement)
        for statement in schema.create_statements(self.collate):
            c.execute(statement)
        c.execute("DELETE FROM view_format")
        c.execute(self._q("INSERT INTO view_format VALUES (?)"), [schema.FORMAT])
        c.execute(
            self._q(f"DELETE FROM {self.tracking_table} WHERE application_name = ?"),
            [NAME],
        )

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        """Rows (addressable by column name) of a query with ? or :name params."""
        with self.datastore.transaction(commit=False) as c:
            self._enter(c)
            c.execute(self._q(sql), params)
            rows: list[Any] = c.fetchall()
            return rows


class Snapshot:
    """Reads in one transaction of a ViewStore (`ViewStore.snapshot`)."""

    def __init__(self, views: ViewStore, c: Any) -> None:
        self.views = views
        self.c = c

    def query(self, sql: str, params: Any = ()) -> list[Any]:
        self.c.execute(self.views._q(sql), params)
        rows: list[Any] = self.c.fetchall()
        return rows

    def position(self) -> int:
        return _whole(self.views._max_tracking_id(NAME, self.c) or 0)

    def head(self) -> int:
        """The position of the last event in the log."""
        rows = self.query(f"SELECT MAX({self.views.event_position}) AS n "
                          f"FROM {self.views.events_table}")  # fmt: skip
        return int(rows[0]["n"] or 0)

    def after(self, position: int) -> int:
        """How many events the log holds after `position`."""
        rows = self.query(
            f"SELECT COUNT(*) AS n FROM {self.views.events_table} "
            f"WHERE {self.views.event_position} > ?",
            [position],
        )
        return int(rows[0]["n"])


def _whole(found: Any) -> int:
    if not isinstance(found, int):
        raise StoreError(
            f"the views' tracking position ('{found}') is not a number: it "
            "was changed behind khronika's back; run `khronika projections "
            "rebuild`"
        )
    return found


class Views(SQLiteTrackingRecorder, ViewStore):
    """The views in the store's SQLite file."""

    tracking_table = "tracking"

    def __init__(self, path: str, *, create: bool = True) -> None:
        super().__init__(SQLiteDatastore(path, lock_timeout=LOCK_TIMEOUT))
        self.path = path
        self.read_only = read_only(path)
        if create:
            create_once(self.create_table)

    def rebuild(
        self,
        read_after: Callable[[int], Iterable[Positioned]],
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Build new views in a scratch file beside the store, then copy them
        in, in one transaction: readers see the old views or the new ones,
        whole, and writers wait only for the copy."""
        scratch = Path(f"{sqlite_file(self.path)}-rebuild")
        scratch.unlink(missing_ok=True)  # left by a rebuild cut short
        try:
            staged = Views(str(scratch))
            done = staged.catch_up(read_after, on_progress)
            position = staged.position()
            staged.datastore.close()
            with closing(sqlite3.connect(self.path, timeout=30, uri=True,
                                         isolation_level=None)) as db:  # fmt: skip
                db.execute("ATTACH DATABASE ? AS staged", [str(scratch)])
                db.execute("BEGIN IMMEDIATE")
                _swap_in(db, position)
                db.execute("COMMIT")
        finally:
            scratch.unlink(missing_ok=True)
        return done

    def may_write(self) -> bool:
        return not self.read_only

    def _enter(self, c: Any) -> None:
        deadline.watch(c.sqlite_cursor.connection)

    def _try_lock(self, c: Any) -> bool:
        c.execute("PRAGMA busy_timeout = 0")  # this connection's, for a moment
        try:
            self._lock(c)
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) and "busy" not in str(e):
                raise
            return False
        finally:
            c.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT * 1000}")
        return True

    def damage(self) -> str | None:
        return integrity.damage(self.path, ["view_format", *schema.TABLES], full=True)

    def _index_names(self, c: Any) -> set[str]:
        c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        return {row["name"] for row in c.fetchall()}

    def _load_into(self, c: Any) -> None:
        super()._load_into(c)
        for name in sorted(schema.LOAD_TRIGGERS):
            c.execute(f"DROP TRIGGER IF EXISTS {name}")
        c.execute("INSERT INTO khronika_views_load VALUES (1)")

    def _build_indexes(self, c: Any) -> None:
        super()._build_indexes(c)
        c.execute("SELECT 1 FROM khronika_views_load LIMIT 1")
        if c.fetchone() is not None:  # a load, unfinished
            for statement in schema.finish_load():
                c.execute(statement)
            c.execute("DELETE FROM khronika_views_load")

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            *schema.create_statements(),
        ]


def _swap_in(db: sqlite3.Connection, position: int) -> None:
    """Replace the views in `main` with those in `staged`, in `db`'s transaction."""
    for name in schema.CURRENT:
        db.execute(f"DROP VIEW IF EXISTS main.{name}")
    for table in schema.TABLES:
        db.execute(f"DROP TABLE IF EXISTS main.{table}")
    for statement in schema.create_statements():  # unqualified: made in main
        db.execute(statement)
    for name in sorted(schema.DEFERRED):  # built once the rows are in
        db.execute(f"DROP INDEX main.{name}")
    for name in sorted(schema.LOAD_TRIGGERS):  # their tables filled then
        db.execute(f"DROP TRIGGER main.{name}")
    for table in schema.TABLES:
        db.execute(f"INSERT INTO main.{table} SELECT * FROM staged.{table}")
    for table in schema.TABLES:
        for statement in schema.index_statements(table, deferred=True):
            db.execute(statement)
    for statement in schema.finish_load():
        db.execute(statement)
    db.execute("DELETE FROM main.khronika_views_load")
    db.execute("DELETE FROM main.view_format")
    db.execute("INSERT INTO main.view_format VALUES (?)", [schema.FORMAT])
    db.execute("DELETE FROM main.tracking WHERE application_name = ?", [NAME])
    if position:
        db.execute("INSERT INTO main.tracking VALUES (?, ?)", [NAME, position])


def create_once(create_table: Callable[[], None]) -> None:
    """Create the tables; if another process created them meanwhile, fine.

    eventsourcing's tracking table records a migration row when it creates
    the table; two creators at once race for it and one fails. By the
    second try the table and its row are there.
    """
    try:
        create_table()
    except PersistenceError:
        create_table()


def open_views(env: dict[str, str], *, create: bool = True) -> ViewStore:
    """The views of the store eventsourcing's `env` describes.

    Without `create`, nothing is written on opening: no CREATE statement.
    """
    factory = InfrastructureFactory.construct(Environment("khronika", env))
    if env.get("PERSISTENCE_MODULE") == "eventsourcing.postgres":
        from khronika.projections.postgres import PostgresViews  # needs psycopg

        datastore = factory.datastore  # type: ignore[attr-defined]
        views: ViewStore = PostgresViews(datastore, create=create)
        return views
    return Views(env["SQLITE_DBNAME"], create=create)


def postgres_params(sql: str) -> str:
    """SQLite's ? and :name placeholders as psycopg's %s and %(name)s."""
    return _NAMED.sub(r"%(\1)s", sql.replace("?", "%s"))


_TABLES = {"fact": schema.FACT_TABLES, "entity": ("view_entities",),
           "source": ("view_sources",)}  # fmt: skip


class _Batch:
    """One transaction's worth of view changes.

    Rows of a version written in this batch are closed in memory when a later
    version arrives in the same batch; older ones are closed with an UPDATE.
    """

    def __init__(self, c: Any, q: Callable[[str], str]) -> None:
        self.c = c
        self.q = q
        self.rows: dict[str, list[list[Any]]] = defaultdict(list)
        self.open: dict[tuple[str, str], list[list[Any]]] = {}
        self.closes: list[tuple[str, str, str]] = []
        self.facts: dict[str, FactVersion] = {}
        self.entities: dict[str, Entity] = {}
        self.sources: dict[str, Source] = {}

    def project(self, batch: list[Positioned]) -> None:
        self.add(batch)
        self.write(self.c)

    def add(self, batch: list[Positioned]) -> None:
        """Work out the rows of `batch`'s events."""
        for position, event in batch:
            self._event(position, event)

    def write(self, c: Any) -> None:
        """Close the versions the rows replace, and insert them."""
        closes: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for kind, slug, at in self.closes:  # one per record: order is free
            closes[kind].append((at, slug))
        for kind, pairs in closes.items():
            for table in _TABLES[kind]:
                c.executemany(self.q(schema.close_statement(table)), pairs)
        for table, rows in self.rows.items():
            c.executemany(self.q(schema.insert_statement(table)), rows)

    def _event(self, position: int, event: Event) -> None:
        if isinstance(event, SigningKeyRotated | MaintainerEvent | Redacted):
            return  # about who signs, or which values are kept: in no view
        slug, at = event.slug, stamp(event.timestamp)
        first = event.originator_version == 1
        if isinstance(event, FactRecorded | FactCorrected | FactRetracted):
            version = self._fact_version(position, event)
            self.facts[slug] = version
            self._put("fact", slug, fact_rows(version), at, first)
        elif isinstance(event, SourceAdded | SourceCopyAttached | SourceCorrected):
            source = agg.apply(None if first else self._source(slug), event)
            assert isinstance(source, Source)
            self.sources[slug] = source
            row = source_row(source, event.recorded_by, position)
            self._put("source", slug, [("view_sources", row)], at, first)
        else:
            before = None if first else self._entity(slug)
            entity = agg.apply(before, event)
            assert isinstance(entity, Entity)
            self.entities[slug] = entity
            rows = [("view_entities", entity_row(entity, event.recorded_by, position))]
            self._put("entity", slug, rows, at, first)

    def _fact_version(self, position: int, event: Event) -> FactVersion:
        reason = getattr(event, "reason", "")
        if isinstance(event, FactRecorded):
            doc, retracted = event.doc, False
        else:
            before = self._fact(event.slug)
            retracted = isinstance(event, FactRetracted)
            doc = before.doc
            if isinstance(event, FactCorrected):
                doc = agg.apply_correction(before.doc, event)
        return FactVersion(
            doc=doc,
            version=event.originator_version,
            retracted=retracted,
            reason=reason,
            recorded_by=event.recorded_by,
            recorded_key=event.seal.key if event.seal else "",
            position=position,
        )

    def _put(
        self,
        kind: str,
        slug: str,
        rows: Iterable[tuple[str, Row]],
        at: str,
        first: bool,
    ) -> None:
        """Add a version's rows, closing the version before it at `at`."""
        pending = self.open.get((kind, slug))
        if pending is not None:
            for stale in pending:
                stale[-1] = at
        elif not first:
            self.closes.append((kind, slug, at))
        new = []
        for table, row in rows:
            full = [*row, at, schema.OPEN]
            self.rows[table].append(full)
            new.append(full)
        self.open[(kind, slug)] = new

    def _open_row(self, table: str, slug: str) -> Any:
        self.c.execute(
            self.q(
                f"SELECT * FROM {table} WHERE {schema.KEY[table]} = ? "
                f"AND recorded_to = '{schema.OPEN}'"
            ),
            (slug,),
        )
        return self.c.fetchone()

    def _fact(self, slug: str) -> FactVersion:
        if slug in self.facts:
            return self.facts[slug]
        row = self._open_row("view_facts", slug)
        if row is None:
            raise KhronikaError(f"views: no current version of fact '{slug}'")
        return FactVersion(
            doc=lenient.decode_json(row["doc"], FactDoc),
            version=row["version"],
            retracted=bool(row["retracted"]),
            reason=row["reason"],
            recorded_by=row["recorded_by"],
            position=row["position"],
        )

    def _source(self, slug: str) -> Source:
        if slug in self.sources:
            return self.sources[slug]
        row = self._open_row("view_sources", slug)
        if row is None:
            raise KhronikaError(f"views: no current version of source '{slug}'")
        doc = SourceDoc(
            id=slug, title=row["title"], publisher=row["publisher"], url=row["url"],
            published=row["published"], language=row["language"],
            sha256=row["sha256"],
        )  # fmt: skip
        return Source(id=stream_id("source", slug), version=row["version"],
                      created_on=_EPOCH, modified_on=_EPOCH, doc=doc)  # fmt: skip

    def _entity(self, slug: str) -> Entity:
        if slug in self.entities:
            return self.entities[slug]
        row = self._open_row("view_entities", slug)
        if row is None:
            raise KhronikaError(f"views: no current version of entity '{slug}'")
        doc = EntityDoc(
            id=slug,
            kind=row["kind"],
            name=row["name"],
            aliases=msgspec.json.decode(row["aliases"]),
            note=row["note"],
            articles=lenient.decode_json(row["articles"], list[Article]),
        )
        return Entity(id=stream_id("entity", slug), version=row["version"],
                      created_on=_EPOCH, modified_on=_EPOCH, doc=doc,
                      merged_into=row["merged_into"])  # fmt: skip
