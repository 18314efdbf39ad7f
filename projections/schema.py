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
# The format of the views' rows; 6's indexes by fact and by entity held no more than
# the key and recorded_to, so a person's page read every row of theirs from
# the tables; 5 had no index on record time alone, nor one giving
# the timeline's whole order (earliest, latest, fact); 4 had no search
# columns; 3 had no keys on child tables, no recorder on entities and sources
# and no event log; 2 had no recorded_key; 1 stored ISO dates
FORMAT = 7
RECORDED = ("recorded_from", "recorded_to")
BOUNDS = ("earliest", "latest")

# table -> (key column, its other columns, in insert order). A child table's
# `item` numbers its rows within one fact version: (fact, version, item) is
# its primary key.
# fmt: off
TABLES: dict[str, tuple[str, ...]] = {
    # one row per version of each fact; retracted versions stay, flagged
    "view_facts": (
        "fact", "version", "kind", "edtf", "label", "wording", *BOUNDS,
        "approximate", "uncertain", "place", "summary", "retracted", "reason",
        "recorded_by", "recorded_key", "position", "doc", "search",
    ),
    # who took part in a fact version, in which role
    "view_roles": ("fact", "version", "item", "entity", "role", *BOUNDS),
    # one row per defendant and sentence of a verdict version
    "view_sentences": (
        "fact", "version", "item", "defendant", "outcome", "type", "term_months",
        "regime", "probation_months", "place", *BOUNDS,
    ),
    # the sources a fact version cites, with locator and quote
    "view_citations": ("fact", "version", "item", "source", "locator", "quote"),
    # the law articles a verdict version convicts under
    "view_charges": (
        "fact", "version", "item", "article", "law", "place", *BOUNDS,
    ),
    # appeals, releases, pardons
    "view_changes": (
        "fact", "version", "item", "defendant", "change", "verdict",
        "served_months",
        *BOUNDS,
    ),
    # what a law amendment allowed before and after
    "view_penalties": (
        "fact", "version", "item", "law", "article", "side", "conduct",
        "min_term_months", "max_term_months", *BOUNDS,
    ),
    "view_entities": (
        "entity", "version", "kind", "name", "aliases", "note", "merged_into",
        "articles", "recorded_by", "position", "search",
    ),
    "view_sources": (
        "source", "version", "title", "publisher", "url", "published",
        "language", "sha256", "recorded_by", "position", "search",
    ),
}
# fmt: on
FACT_TABLES = tuple(t for t, cols in TABLES.items() if cols[0] == "fact")
KEY = {table: cols[0] for table, cols in TABLES.items()}
# One row per version: (id, version) is the key, a stable row link in Datasette;
# a child table's rows add their `item`.
PRIMARY = {
    table: (KEY[table], "version", *(("item",) if table in FACT_TABLES[1:] else ()))
    for table in TABLES
}
SEARCHED = ("view_facts", "view_entities", "view_sources")  # a `search` column
# One row per record, with its newest label: what Datasette links a slug to
# (its links need a foreign key of one column to a table keyed by it alone).
# SQLite only, kept by a trigger on each insert into the version table.
LABELS = {
    "facts": ("view_facts", "fact", "summary"),
    "entities": ("view_entities", "entity", "name"),
    "sources": ("view_sources", "source", "title"),
}
# What a table's columns name: (columns, table, its columns). Declared in
# SQLite only, where they are documentation for Datasette and sqlite-utils
# (SQLite checks none unless asked); PostgreSQL would enforce them, and a
# load writes a batch's rows table by table.
_ENTITY = ("entities", ("entity",))
_NAMES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "view_facts": {"place": _ENTITY},
    "view_roles": {"entity": _ENTITY},
    "view_sentences": {"defendant": _ENTITY, "place": _ENTITY},
    "view_charges": {"law": _ENTITY, "place": _ENTITY},
    "view_citations": {"source": ("sources", ("source",))},
    "view_changes": {"defendant": _ENTITY, "verdict": ("facts", ("fact",))},
    "view_penalties": {"law": _ENTITY},
    "view_entities": {"merged_into": _ENTITY},
}
FOREIGN: dict[str, list[tuple[tuple[str, ...], str, tuple[str, ...]]]] = {
    table: [
        *(
            [(("fact", "version"), "view_facts", ("fact", "version")),
             (("fact",), "facts", ("fact",))]
            if table in FACT_TABLES[1:] else []
        ),
        *(((column,), other, theirs)
          for column, (other, theirs) in _NAMES.get(table, {}).items()),
    ]
    for table in TABLES
}  # fmt: skip
BY_FACT_COLUMNS = ("fact", "recorded_to", "recorded_from", *BOUNDS, "retracted",
                   "uncertain", "version")  # fmt: skip
ROLES_BY_ENTITY_COLUMNS = ("entity", "recorded_to", "recorded_from", "fact", "role")
INDEXES: dict[str, list[tuple[str, ...]]] = {
    "view_facts": [
        # a fact's versions, and the facts named (BY_FACT): the point's
        # columns, the order's and the version, so that a page of a person's
        # facts is sorted and counted from this index alone
        BY_FACT_COLUMNS,
        ("recorded_to", "recorded_from"),
        ("earliest", "latest", "fact"),  # the timeline's order (TIMELINE_ORDER)
        ("kind", "recorded_to"),
        ("recorded_from",),  # the facts recorded by an early time (RECORDED_BY)
    ],
    # an entity's roles (ROLES_BY_ENTITY), with what the facts named and
    # their roles read
    "view_roles": [ROLES_BY_ENTITY_COLUMNS, ("fact", "recorded_to")],
    "view_sentences": [("defendant", "recorded_to"), ("fact", "recorded_to")],
    "view_charges": [("fact", "recorded_to"), ("article",)],
    "view_citations": [("source", "recorded_to"), ("fact", "recorded_to")],
    "view_changes": [("defendant",), ("fact", "recorded_to")],
    "view_penalties": [("law", "recorded_to"), ("fact", "recorded_to")],
    "view_entities": [("entity", "recorded_to")],
    "view_sources": [("source", "recorded_to")],
}

# The record as it stands now, as plain SQL views: one per table (a child
# table's rows are those of current versions; a retracted version has none).
CURRENT = {
    "current_facts": "SELECT * FROM view_facts "
    f"WHERE recorded_to = '{OPEN}' AND retracted = 0",
    **{
        f"current_{table.removeprefix('view_')}": f"SELECT * FROM {table} "
        f"WHERE recorded_to = '{OPEN}'"
        for table in TABLES
        if table != "view_facts"
    },
}
# Every recording, correction and retraction of a fact, entity or source, in
# log order, as one line a person reads (who signs and maintains is not in
# the views: `khronika log` shows that).
_CHANGE = (
    "CASE WHEN retracted = 1 THEN 'retracted' WHEN version = 1 THEN 'recorded' "
    "ELSE 'corrected' END"
)
EVENT_LOG = (
    "SELECT position, recorded_from AS recorded_at, recorded_by, 'fact' AS record, "
    f"fact AS slug, version, recorded_by || ' ' || {_CHANGE} || ' fact ' || fact "
    "|| CASE WHEN reason <> '' THEN ' (' || reason || ')' ELSE '' END "
    "|| ': ' || summary AS text FROM view_facts "
    "UNION ALL SELECT position, recorded_from, recorded_by, 'entity', entity, "
    "version, recorded_by || CASE WHEN version = 1 THEN ' registered ' "
    "ELSE ' changed ' END || kind || ' ' || entity || ': ' || name "
    "FROM view_entities "
    "UNION ALL SELECT position, recorded_from, recorded_by, 'source', source, "
    "version, recorded_by || CASE WHEN version = 1 THEN ' added' "
    "ELSE ' changed' END || ' source ' || source || ': ' || title "
    "FROM view_sources"
)
VIEWS = {**CURRENT, "event_log": EVENT_LOG}

INTEGERS = {
    "version", "item", "position", "approximate", "uncertain", "retracted",
    "term_months", "probation_months", "served_months", "min_term_months",
    "max_term_months",
}  # fmt: skip


def create_statements(collate: str = "") -> list[str]:
    """CREATE statements; `collate` follows the bounds' TEXT (PostgreSQL's C,
    which also says the dialect)."""
    statements = ["CREATE TABLE IF NOT EXISTS view_format (format BIGINT)"]
    for table, cols in TABLES.items():
        columns = ", ".join(f"{c} {_type(c, collate)}" for c in (*cols, *RECORDED))
        columns += f", PRIMARY KEY ({', '.join(PRIMARY[table])})"
        for mine, other, theirs in FOREIGN.get(table, []) if not collate else []:
            columns += (
                f", FOREIGN KEY ({', '.join(mine)}) "
                f"REFERENCES {other} ({', '.join(theirs)})"
            )
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        statements += index_statements(table)
        if table in SEARCHED:
            statements += search_statements(table, postgres=bool(collate))
    create_view = "CREATE OR REPLACE VIEW" if collate else "CREATE VIEW IF NOT EXISTS"
    for name, query in VIEWS.items():
        statements.append(f"{create_view} {name} AS {query}")
    return statements + ([] if collate else [*_label_statements(), LOAD_TABLE])


def _label_statements() -> list[str]:
    statements = []
    for name, (table, key, label) in LABELS.items():
        statements += [
            f"CREATE TABLE IF NOT EXISTS {name} ({key} TEXT PRIMARY KEY, {label} TEXT)",
            f"CREATE TRIGGER IF NOT EXISTS {name}_label AFTER INSERT ON {table} "
            f"BEGIN INSERT OR REPLACE INTO {name} VALUES (NEW.{key}, NEW.{label}); END",
        ]
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


def index_name(table: str, columns: tuple[str, ...]) -> str:
    return dict((c, n) for n, c in _indexes(table))[columns]


TIMELINE_ORDER = index_name("view_facts", ("earliest", "latest", "fact"))
RECORDED_BY = index_name("view_facts", ("recorded_from",))
BY_FACT = index_name("view_facts", BY_FACT_COLUMNS)
ROLES_BY_ENTITY = index_name("view_roles", ROLES_BY_ENTITY_COLUMNS)


# Indexes that a load into empty tables drops and builds at its end, which is
# faster than keeping them up to date row by row: all but those by the
# record's key, through which the load finds the rows it closes, on tables
# whose primary key (the record's key, then version) cannot serve instead.
DEFERRED = frozenset(
    name
    for table in TABLES
    for name, columns in _indexes(table)
    if columns[0] != KEY[table] or table in PRIMARY
)  # every table has a primary key now, which serves the closing updates


# SQLite: the triggers that keep the full-text tables and the labels current
# row by row. A load into empty views drops them too, and notes that it did
# in LOAD_TABLE until `finish_load` has filled what they keep, once, at its
# end: FTS5's own 'rebuild', and the newest label of each record, which is
# what the triggers leave. The note, not the triggers' absence, says a load
# is unfinished: a writer opening the views meanwhile makes them again.
LOAD_TRIGGERS = frozenset(
    [f"{table}_fts_insert" for table in SEARCHED] + [f"{n}_label" for n in LABELS]
)
LOAD_TABLE = "CREATE TABLE IF NOT EXISTS khronika_views_load (unfinished BIGINT)"


def finish_load() -> list[str]:
    """Statements that fill what the LOAD_TRIGGERS keep, and make them again."""
    fill = [f"INSERT INTO {t}_fts({t}_fts) VALUES ('rebuild')" for t in SEARCHED]
    for name, (table, key, label) in LABELS.items():
        fill.append(
            f"INSERT OR REPLACE INTO {name} SELECT {key}, {label} FROM {table} "
            f"WHERE rowid IN (SELECT MAX(rowid) FROM {table} GROUP BY {key})"
        )
    made = [
        statement
        for statement in create_statements()
        for name in LOAD_TRIGGERS
        if statement.startswith(f"CREATE TRIGGER IF NOT EXISTS {name} ")
    ]
    return fill + made


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


def drop_statements(collate: str = "") -> list[str]:
    labels = [] if collate else list(LABELS)  # SQLite's only
    return (
        [f"DROP VIEW IF EXISTS {name}" for name in VIEWS]
        + ([] if collate else [f"DROP TABLE IF EXISTS {t}_fts" for t in SEARCHED])
        + [f"DROP TABLE IF EXISTS {table}" for table in (*TABLES, *labels)]
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
