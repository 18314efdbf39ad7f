"""The views in a PostgreSQL store, in the store's schema, beside its events."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from khronika.projections import deadline, schema
from khronika.projections.views import (
    NAME,
    Positioned,
    ViewStore,
    create_once,
    postgres_params,
)

TRACKING = "khronika_views_tracking"
LOCK = 0x6B68726F  # the views' advisory lock ("khro")
# Every transaction on the views shares this advisory lock, taken first; a
# rebuild's swap takes it alone, so it never drops a table under a reader.
SWAP = 0x6B687377  # "khsw"
STAGING = "_khronika_rebuild"  # a rebuild's schema: the store's, with this


class PostgresViews(PostgresTrackingRecorder, ViewStore):
    tracking_table = TRACKING
    events_table = "khronika_events"  # eventsourcing's name for the app's log
    event_position = "notification_id"
    collate = ' COLLATE "C"'  # bounds keys sort byte by byte, as in SQLite

    def __init__(self, datastore: PostgresDatastore, *, create: bool = True) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING)
        if not create:
            return
        create_once(self.create_table)
        with self.datastore.transaction(commit=True) as c:
            self._enter(c)
            c.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])  # one creator
            for statement in schema.create_statements(self.collate):
                c.execute(statement)

    def rebuild(
        self,
        read_after: Callable[[int], Iterable[Positioned]],
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Build new views in a schema of their own, then swap them in.

        Readers go on reading the old views meanwhile; the swap (drop the old
        tables, move the new ones across, set the tracking position) is one
        transaction, taken once no reader is inside one (`SWAP`), so a reader
        sees the old views or the new ones, whole, and never an empty table.
        """
        staging = self.datastore.schema[: 63 - len(STAGING)] + STAGING
        with self.datastore.transaction(commit=True) as c:
            c.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}")
                      .format(Identifier(staging)))  # fmt: skip
        staged = PostgresViews(
            cast(PostgresDatastore, _InSchema(self.datastore, staging))
        )
        done = staged.catch_up(read_after, on_progress)
        position = staged.position()
        main = Identifier(self.datastore.schema)
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", [SWAP])
            self._enter(c)
            self._lock(c)
            for statement in schema.drop_statements():
                c.execute(statement)
            for table in schema.TABLES:
                c.execute(SQL("ALTER TABLE {}.{} SET SCHEMA {}").format(
                    Identifier(staging), Identifier(table), main))  # fmt: skip
            for statement in schema.create_statements(self.collate):
                c.execute(statement)  # the SQL views, over the new tables
            c.execute("DELETE FROM view_format")
            c.execute("INSERT INTO view_format VALUES (%s)", [schema.FORMAT])
            c.execute(f"DELETE FROM {TRACKING} WHERE application_name = %s", [NAME])
            if position:
                self._insert_tracking(c, Tracking(NAME, position))
            c.execute(SQL("DROP SCHEMA {} CASCADE").format(Identifier(staging)))
        return done

    def may_write(self) -> bool:
        """Whether the role may write the views (not so with SELECT only)."""
        rows = self.query(
            "SELECT has_table_privilege('view_facts', 'INSERT') "
            f"AND has_table_privilege('{TRACKING}', 'UPDATE') AS ok"
        )
        return bool(rows[0]["ok"])

    def _q(self, sql: str) -> str:
        return postgres_params(sql)

    def _repeatable(self, c: Any) -> None:
        c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _lock(self, c: Any) -> None:
        c.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])

    def _try_lock(self, c: Any) -> bool:
        c.execute("SELECT pg_try_advisory_xact_lock(%s) AS ok", [LOCK])
        return bool(c.fetchone()["ok"])

    def _may_index(self, c: Any) -> bool:
        """Only the tables' owner may: a role that may write rows may not."""
        c.execute(
            "SELECT pg_has_role(tableowner, 'USAGE') AS owner FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename = 'view_facts'"
        )
        row = c.fetchone()
        return bool(row and row["owner"])

    def _index_names(self, c: Any) -> set[str]:
        c.execute(
            "SELECT indexname AS name FROM pg_indexes "
            "WHERE schemaname = current_schema()"
        )
        return {row["name"] for row in c.fetchall()}

    def indexed_by(self, index: str) -> str:
        return ""

    def _enter(self, c: Any) -> None:
        """Unqualified view names mean the store's schema; and no rebuild
        swaps the tables while this transaction reads them (`SWAP`)."""
        c.execute("SELECT pg_advisory_xact_lock_shared(%s)", [SWAP])
        c.execute(
            SQL("SET LOCAL search_path TO {}").format(Identifier(self.datastore.schema))
        )
        deadline.statement_timeout(c)


class _InSchema:
    """The store's datastore (its connection pool) in another schema.

    eventsourcing's recorders name their tables in `datastore.schema`
    (checked with 9.5). A copy of the datastore would close the shared pool
    when collected (`PostgresDatastore.__del__`); this only forwards to it.
    """

    def __init__(self, datastore: PostgresDatastore, schema: str) -> None:
        self._datastore = datastore
        self.schema = schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._datastore, name)
