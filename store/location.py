"""Where the store is: a SQLite path or a PostgreSQL URL, as eventsourcing env."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from eventsourcing.utils import get_topic

from khronika.domain.errors import StoreError
from khronika.store.codec import MsgspecMapper, NullTranscoder
from khronika.store.sqlite import KhronikaSQLiteRecorder

DEFAULT_STORE = "khronika.db"


CONNECT_TIMEOUT = 5  # seconds to wait for a PostgreSQL server to answer
_RESERVED = "/?#@"
_SECRET_PARAMS = re.compile(r"(?i)(?<=[?&])((?:ssl)?password)=[^&#]*")
SCHEMA_MAX = 46  # PostgreSQL's 63 bytes, less a rebuild's `_khronika_rebuild`
# khronika quotes the schema wherever it names it in SQL; eventsourcing 9.5
# (checked with 9.5.x) names its composite types with the schema unquoted
# (`PostgresDatastore.register_type_adapters`), so only names that need no
# quoting work there.
_SCHEMA = re.compile(rf"[a-z_][a-z0-9_]{{0,{SCHEMA_MAX - 1}}}")


def resolve(store: str | None) -> str:
    """`--store`, else KHRONIKA_STORE, else ./khronika.db."""
    if store is not None and not store.strip():
        raise StoreError("--store: is empty; give a SQLite file or a postgresql:// URL")
    return store or os.environ.get("KHRONIKA_STORE") or DEFAULT_STORE


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def is_remote(location: str) -> bool:
    """A chronicle served by `khronika serve --writable` (store/remote.py)."""
    return location.startswith(("https://", "http://"))


def is_sqlite(location: str) -> bool:
    return not is_postgres(location) and not is_remote(location)


def describe(location: str) -> str:
    """The location with any password hidden, fit to print.

    The user information is everything before the last `@` of the URL, so
    a password holding unencoded `/ ? # @` is hidden whole, too; so is the
    value of each `password` and `sslpassword` parameter, which libpq takes
    in the query as well.
    """
    if is_remote(location):
        parts = urlsplit(location)  # no user information, path or query
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    if not is_postgres(location):
        return location
    location = _SECRET_PARAMS.sub(r"\1=…", location)
    scheme, _, rest = location.partition("://")
    userinfo, at, hostpart = rest.rpartition("@")
    user = userinfo.partition(":")[0] if at else ""
    if any(c in user for c in _RESERVED):
        user = "…"
    return f"{scheme}://{user + '@' if user else ''}{hostpart}"


def server(location: str) -> str:
    """HOST:PORT of a PostgreSQL URL, for messages."""
    env = _postgres(location)
    return f"{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"


def sqlite_file(location: str) -> Path:
    """The file of a SQLite location: a path, or a `file:` URI."""
    if location.startswith("file:"):
        return Path(unquote(urlsplit(location).path))
    return Path(location)


def read_only(location: str) -> bool:
    """Whether this process must not write to the SQLite store at `location`.

    So it is with a `file:…?mode=ro` URI, with a file that nobody may write
    (mode 444 stops even root here), and with one this user may not write or
    that lies on a read-only mount. A PostgreSQL store answers by its role's
    privileges (the views ask it).
    """
    if not is_sqlite(location):
        return False
    if location.startswith("file:"):
        if parse_qs(urlsplit(location).query).get("mode") == ["ro"]:
            return True
    path = sqlite_file(location)
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not mode & 0o222 or not os.access(path, os.W_OK)


def reading(location: str) -> str:
    """The location to open: a read-only SQLite store as a `?mode=ro` URI.

    A file nobody may write is opened `immutable` too, so that SQLite
    creates no shared-memory or log file beside it, unless a log with
    unmerged writes is there (a writer stopped short), which must be read.
    A `file:…?mode=ro` URI is taken as given: someone else may be writing.
    """
    if not is_sqlite(location) or not read_only(location):
        return location
    if location.startswith("file:"):
        return location
    path = sqlite_file(location).resolve()
    wal = path.with_name(path.name + "-wal")
    unmerged = wal.exists() and wal.stat().st_size > 0
    return f"file:{quote(str(path))}?mode=ro" + ("" if unmerged else "&immutable=1")


def environment(location: str) -> dict[str, str]:
    """The eventsourcing settings for the store at `location`."""
    env = {
        "MAPPER_TOPIC": get_topic(MsgspecMapper),
        "TRANSCODER_TOPIC": get_topic(NullTranscoder),
    }
    if is_postgres(location):
        return env | _postgres(location)
    if is_remote(location):
        return env | {
            "PERSISTENCE_MODULE": "khronika.store.remote",
            "KHRONIKA_URL": location,
        }
    return env | {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": location
        if location.startswith("file:")
        else str(Path(location)),
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": get_topic(KhronikaSQLiteRecorder),
    }


def _postgres(url: str) -> dict[str, str]:
    userinfo, at, _ = url.partition("://")[2].rpartition("@")
    if at and any(c in userinfo for c in _RESERVED):
        raise StoreError(
            f"{describe(url)}: the user name or password holds / ? # or @; "
            "percent-encode them in the URL (%2F %3F %23 %40)"
        )
    parts = urlsplit(url)
    try:
        port = parts.port or 5432
    except ValueError:
        raise StoreError(
            f"{describe(url)}: the port is not a number from 1 to 65535"
        ) from None
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise StoreError(f"{describe(url)}: the URL names no database")
    query = parse_qs(parts.query)
    password = (  # as libpq takes it: the URL's, its query's, PGPASSWORD
        unquote(parts.password or "")
        or query.get("password", [""])[-1]
        or os.environ.get("PGPASSWORD", "")
    )
    from khronika.store.postgres import KhronikaPostgresRecorder  # needs psycopg

    schema = query.get("schema", [""])[-1]
    if schema and not _SCHEMA.fullmatch(schema):
        raise StoreError(
            f"{describe(url)}: ?schema= takes a name of lower-case letters a-z, "
            f"digits and underscores, at most {SCHEMA_MAX} characters, "
            "starting with a letter or underscore"
        )
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": get_topic(KhronikaPostgresRecorder),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname or "localhost",
        "POSTGRES_PORT": str(port),
        "POSTGRES_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "POSTGRES_USER": unquote(parts.username or os.environ.get("USER", "postgres")),
        "POSTGRES_PASSWORD": password,
    }
