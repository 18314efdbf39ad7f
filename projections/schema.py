"""The read-side tables: plain SQL, one row per version of a record.

Every row carries its record-time interval [recorded_from, recorded_to):
the version was what the record said from `recorded_from` until the next
event on the same record. The open end is OPEN. Rows about facts also carry
the fact's world-time bounds, earliest and latest possible day, as keys that
sort as text in day order (`days.Day.key`: ISO dates for the years 0000-9999,
prefixed keys beyond, `-..` and `~..` for the open ends). In PostgreSQL these
columns are COLLATE "C", so that they sort byte by byte there too. So a query
at any point on both axes is an indexed lookup:

    recorded_from <= :known_at AND :known_at < recorded_to
    AND earliest <= :as_of          -- certain when latest <= :as_of too

Record times are ISO 8601 UTC text with microseconds, which sort as text.
"""

from __future__ import annotations

OPEN = "9999-12-31T23:59:59.999999Z"
NOW = "9999-12-31T23:59:59.999998Z"  # "known at" when no time is given
FORMAT = 4  # of the views' rows; 3 had no search columns, 2 no recorded_key,
# 1 stored ISO dates
RECORDED = ("recorded_from", "recorded_to")
BOUNDS = ("earliest", "latest")

# table -> (key column, its other columns, in insert order)
# fmt: off
TABLES: dict[str, tuple[str, ...]] = {
    # one row per version of each fact; retracted versions stay, flagged
    "view_facts": (
        "fact", "version", "kind", "edtf", "label", "wording", *BOUNDS,
        "approximate", "uncertain", "place", "summary", "retracted", "reason",
        "recorded_by", "recorded_key", "position", "doc", "search",
    ),
    # who took part in a fact version, in which role
    "view_roles": ("fact", "version", "entity", "role", *BOUNDS),
    # one row per defendant and sentence of a verdict version
    "view_sentences": (
        "fact", "version", "defendant", "outcome", "type", "term_months",
        "regime", "probation_months", "place", *BOUNDS,
    ),
    # the sources a fact version cites, with locator and quote
    "view_citations": ("fact", "version", "source", "locator", "quote"),
    # the law articles a verdict version convicts under
    "view_charges": ("fact", "version", "article", "law", "place", *BOUNDS),
    # appeals, releases, pardons
    "view_changes": (
        "fact", "version", "defendant", "change", "verdict", "served_months",
        *BOUNDS,
    ),
    # what a law amendment allowed before and after
    "view_penalties": (
        "fact", "version", "law", "article", "side", "conduct",
        "min_term_months", "max_term_months", *BOUNDS,
    ),
    "view_entities": (
        "entity", "version", "kind", "name", "aliases", "note", "merged_into",
        "articles", "search",
    ),
    "view_sources": (
        "source", "version", "title", "publisher", "url", "published",
        "language", "sha256", "search",
    ),
}
# fmt: on
FACT_TABLES = tuple(t for t, cols in TABLES.items() if cols[0] == "fact")
KEY = {table: cols[0] for table, cols in TABLES.items()}
# One row per version: (id, version) is the key, a stable row link in Datasette.
PRIMARY = ("view_facts", "view_entities", "view_sources")
INDEXES: dict[str, list[tuple[str, ...]]] = {
    "view_facts": [
        ("fact", "recorded_to"),
        ("recorded_to", "recorded_from"),
        ("earliest", "latest"),
        ("kind", "recorded_to"),
    ],
    "view_roles": [("entity", "recorded_to"), ("fact", "recorded_to")],
    "view_sentences": [("defendant", "recorded_to"), ("fact", "recorded_to")],
    "view_charges": [("fact", "recorded_to"), ("article",)],
    "view_citations": [("source", "recorded_to"), ("fact", "recorded_to")],
    "view_changes": [("defendant",), ("fact", "recorded_to")],
    "view_penalties": [("law", "recorded_to"), ("fact", "recorded_to")],
    "view_entities": [("entity", "recorded_to")],
    "view_sources": [("source", "recorded_to")],
}

# The record as it stands now, as plain SQL views.
CURRENT = {
    "current_facts": "SELECT * FROM view_facts "
    f"WHERE recorded_to = '{OPEN}' AND retracted = 0",
    "current_entities": f"SELECT * FROM view_entities WHERE recorded_to = '{OPEN}'",
    "current_sources": f"SELECT * FROM view_sources WHERE recorded_to = '{OPEN}'",
}

INTEGERS = {
    "version", "position", "approximate", "uncertain", "retracted", "term_months",
    "probation_months", "served_months", "min_term_months", "max_term_months",
}  # fmt: skip


def create_statements(collate: str = "") -> list[str]:
    """CREATE statements; `collate` follows the bounds' TEXT (PostgreSQL's C,
    which also says the dialect)."""
    statements = ["CREATE TABLE IF NOT EXISTS view_format (format BIGINT)"]
    for table, cols in TABLES.items():
        columns = ", ".join(f"{c} {_type(c, collate)}" for c in (*cols, *RECORDED))
        if table in PRIMARY:
            columns += f", PRIMARY KEY ({KEY[table]}, version)"
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        statements += index_statements(table)
        if table in PRIMARY:
            statements += search_statements(table, postgres=bool(collate))
    create_view = "CREATE OR REPLACE VIEW" if collate else "CREATE VIEW IF NOT EXISTS"
    for name, query in CURRENT.items():
        statements.append(f"{create_view} {name} AS {query}")
    return statements


def index_statements(table: str, *, deferred: bool = False) -> list[str]:
    """CREATE INDEX statements of `table`; with `deferred`, only those a load
    into empty tables may build at its end (`DEFERRED`)."""
    return [
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(columns)})"
        for name, columns in _indexes(table)
        if not deferred or name in DEFERRED
    ]


def _indexes(table: str) -> list[tuple[str, tuple[str, ...]]]:
    return [(f"{table}_{i}", index) for i, index in enumerate(INDEXES[table])]


# Indexes that a load into empty tables drops and builds at its end, which is
# faster than keeping them up to date row by row: all but those by the
# record's key, through which the load finds the rows it closes, on tables
# whose primary key (the record's key, then version) cannot serve instead.
DEFERRED = frozenset(
    name
    for table in TABLES
    for name, columns in _indexes(table)
    if columns[0] != KEY[table] or table in PRIMARY
)


SEARCH_VECTOR = "array_to_tsvector(string_to_array({}, ' '))"  # PostgreSQL


def search_statements(table: str, *, postgres: bool) -> list[str]:
    """The full-text index of `table`'s `search` column (its words, folded:
    `projections.text`), kept current as rows come and go.

    SQLite: an FTS5 table over the rows (external content), kept by
    triggers. PostgreSQL: a GIN index on the words as a tsvector, which
    PostgreSQL keeps itself; the words go in as they are (`SEARCH_VECTOR`),
    not through a text search parser, whose idea of a letter follows the
    database's locale (under C, Cyrillic has none).
    """
    if postgres:
        return [
            f"CREATE INDEX IF NOT EXISTS {table}_search ON {table} "
            f"USING gin ({SEARCH_VECTOR.format('search')})"
        ]
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(search, "
        f"content='{table}', content_rowid='rowid', tokenize='unicode61')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} "
        f"BEGIN INSERT INTO {fts}(rowid, search) VALUES (new.rowid, new.search); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} "
        f"BEGIN INSERT INTO {fts}({fts}, rowid, search) "
        "VALUES ('delete', old.rowid, old.search); END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF search "
        f"ON {table} BEGIN INSERT INTO {fts}({fts}, rowid, search) "
        "VALUES ('delete', old.rowid, old.search); "
        f"INSERT INTO {fts}(rowid, search) VALUES (new.rowid, new.search); END",
    ]


def drop_statements() -> list[str]:
    return (
        [f"DROP VIEW IF EXISTS {name}" for name in CURRENT]
        + [f"DROP TABLE IF EXISTS {table}_fts" for table in PRIMARY]
        + [f"DROP TABLE IF EXISTS {table}" for table in TABLES]
    )


def _type(column: str, collate: str) -> str:
    if column in INTEGERS:
        return "BIGINT"
    return f"TEXT{collate}" if column in BOUNDS else "TEXT"


def insert_statement(table: str) -> str:
    cols = (*TABLES[table], *RECORDED)
    return f"INSERT INTO {table} VALUES ({', '.join('?' * len(cols))})"


def close_statement(table: str) -> str:
    return (
        f"UPDATE {table} SET recorded_to = ? "
        f"WHERE {KEY[table]} = ? AND recorded_to = '{OPEN}'"
    )
