"""Where the store is: a SQLite path or a PostgreSQL URL, as eventsourcing env."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.utils import get_topic

from khronika.domain.errors import StoreError
from khronika.store.codec import MsgspecMapper, NullTranscoder
from khronika.store.sqlite import KhronikaSQLiteRecorder

DEFAULT_STORE = "khronika.db"


def resolve(store: str | None) -> str:
    """`--store`, else KHRONIKA_STORE, else ./khronika.db."""
    return store or os.environ.get("KHRONIKA_STORE") or DEFAULT_STORE


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def describe(location: str) -> str:
    """The location with any password hidden, fit to print."""
    if not is_postgres(location):
        return location
    parts = urlsplit(location)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    user = f"{parts.username}@" if parts.username else ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}{query}"


def environment(location: str) -> dict[str, str]:
    """The eventsourcing settings for the store at `location`."""
    env = {
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        "TRANSCODER_TOPIC": get_topic(NullTranscoder),
    }
    if is_postgres(location):
        return env | _postgres(location)
    return env | {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(Path(location)),
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(KhronikaSQLiteRecorder),
    }


def _postgres(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StoreError(f"{describe(url)}: the URL names no database")
    password = unquote(parts.password or "") or os.environ.get("PGPASSWORD") or ""
    from khronika.store.postgres import KhronikaPostgresRecorder  # needs psycopg

    schema = parse_qs(parts.query).get("schema", [""])[-1]
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(KhronikaPostgresRecorder),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": password,
    }
