"""The views in a PostgreSQL store, in the store's schema, beside its events."""

from __future__ import annotations

from typing import Any

from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from khronika.projections import schema
from khronika.projections.views import ViewStore, create_once, postgres_params

TRACKING = "khronika_views_tracking"
LOCK = 0x6B68726F  # the views' advisory lock ("khro")


class PostgresViews(PostgresTrackingRecorder, ViewStore):
    tracking_table = TRACKING
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

    def may_write(self) -> bool:
        """Whether the role may write the views (not so with SELECT only)."""
        rows = self.query(
            "SELECT has_table_privilege('view_facts', 'INSERT') "
            f"AND has_table_privilege('{TRACKING}', 'UPDATE') AS ok"
        )
        return bool(rows[0]["ok"])

    def _q(self, sql: str) -> str:
        return postgres_params(sql)

    def _lock(self, c: Any) -> None:
        c.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])

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

    def _enter(self, c: Any) -> None:
        """Unqualified view names mean the store's schema."""
        c.execute(
            SQL("SET LOCAL search_path TO {}").format(Identifier(self.datastore.schema))
        )
