"""Datasette's metadata for the views: titles, descriptions, labels, facets.

Datasette (https://docs.datasette.io/en/stable/metadata.html) reads one JSON
document beside a database: each table's and SQL view's title, description,
column descriptions, the column that labels a row where another table links
to it, the facets it suggests and its default sort. This builds it from the
views' schema, so a new column cannot go undescribed (a test checks that
every column of every table and view is).
"""

from __future__ import annotations

from msgspec import Struct

from khronika.projections import schema

# Columns more than one table shares, described once.
_SHARED = {
    "fact": "The fact's id (slug)",
    "version": "The record's version: 1 when recorded, +1 per correction",
    "item": "The row's number within its fact version",
    "earliest": "Earliest day the fact can have happened (sorts as text)",
    "latest": "Latest day the fact can have happened (sorts as text)",
    "place": "The place entity's id",
    "recorded_from": "Record time from which this version stood (UTC)",
    "recorded_to": "Record time until which it stood (9999-… while it stands)",
    "recorded_by": "The maintainer who recorded this version",
    "position": "The event's position in the log",
    "search": "Its words for full-text search: folded case, accents and "
    "Kazakh letters (khronika search)",
    "entity": "The entity's id (slug)",
    "source": "The source's id (slug)",
    "law": "The law entity's id",
    "article": "A law's article, LAW:NUMBER",
    "defendant": "The defendant entity's id",
}
_COLUMNS: dict[str, dict[str, str]] = {
    "view_facts": {
        "kind": "What kind of fact (verdict, statement, …)",
        "edtf": "When, as an EDTF date", "label": "When, in words",
        "wording": "When, in the source's words",
        "approximate": "1 if the date is approximate (~)",
        "uncertain": "1 if the date is uncertain (?)",
        "summary": "What happened", "retracted": "1 if this version retracts it",
        "reason": "Why it was corrected or retracted",
        "recorded_key": "The maintainer key that signed the event",
        "doc": "The whole fact as JSON",
    },
    "view_roles": {"role": "The entity's part in the fact"},
    "view_sentences": {
        "outcome": "The verdict's outcome", "type": "The punishment",
        "term_months": "Its term in months", "regime": "The colony's regime",
        "probation_months": "Probation in months",
    },
    "view_charges": {},
    "view_citations": {
        "locator": "Where in the source (para:6, page:12)",
        "quote": "The words quoted",
    },
    "view_changes": {
        "change": "Appeal, release, pardon, …",
        "verdict": "The verdict's fact id", "served_months": "Months served",
    },
    "view_penalties": {
        "side": "before or after the amendment", "conduct": "What it punishes",
        "min_term_months": "Least term in months",
        "max_term_months": "Longest term in months",
    },
    "view_entities": {
        "kind": "person, organisation, court, law, place, …", "name": "Its name",
        "aliases": "Other names (JSON)", "note": "A note on who or what it is",
        "merged_into": "The entity it was merged into, if it was",
        "articles": "A law's articles (JSON)",
    },
    "view_sources": {
        "title": "Its title", "publisher": "Who published it", "url": "Where",
        "published": "When (EDTF)", "language": "Its language",
        "sha256": "The SHA-256 of the archived copy",
    },
}  # fmt: skip
_TITLES = {
    "view_facts": ("Facts, every version", "One row per version of each fact."),
    "view_roles": ("Who took part", "Participants of each fact version."),
    "view_sentences": ("Sentences", "One row per defendant and sentence."),
    "view_charges": ("Charges", "The articles a verdict convicts under."),
    "view_citations": ("Citations", "The sources each fact version cites."),
    "view_changes": ("Sentence changes", "Appeals, releases, pardons."),
    "view_penalties": ("Penalties", "What a law amendment allowed before and after."),
    "view_entities": ("Entities, every version", "People, organisations, laws…"),
    "view_sources": ("Sources, every version", "Articles and documents cited."),
}
_LABELS = {"view_facts": "summary", "view_entities": "name", "view_sources": "title"}
_FACETS = {
    "view_facts": ["kind", "recorded_by", "retracted"],
    "view_roles": ["role"],
    "view_sentences": ["outcome", "type", "regime"],
    "view_charges": ["law", "article"],
    "view_changes": ["change"],
    "view_penalties": ["law", "side"],
    "view_entities": ["kind"],
    "view_sources": ["publisher", "language"],
}
_EVENT_LOG = {
    "record": "fact, entity or source",
    "slug": "The record's id",
    "recorded_at": "The event's record time (UTC)",
    "text": "The event as a sentence",
}


class Table(Struct, kw_only=True, omit_defaults=True):
    title: str
    description: str
    columns: dict[str, str]
    label_column: str | None = None
    facets: list[str] = []
    sort: str | None = None


class Database(Struct, kw_only=True):
    tables: dict[str, Table]


class Metadata(Struct, kw_only=True):
    title: str = "khronika"
    description: str = (
        "An event-sourced chronicle: every row is one version of a record, "
        "with its record-time interval [recorded_from, recorded_to)."
    )
    databases: dict[str, Database]


def _columns(table: str) -> dict[str, str]:
    cols = (*schema.TABLES[table], *schema.RECORDED)
    return {c: _COLUMNS[table].get(c) or _SHARED[c] for c in cols}


def _table(table: str) -> Table:
    title, description = _TITLES[table]
    return Table(
        title=title,
        description=description,
        columns=_columns(table),
        label_column=_LABELS.get(table),
        facets=_FACETS.get(table, []),
        sort=schema.KEY[table],
    )


def _current(view: str) -> Table:
    table = view.replace("current_", "view_")
    title, description = _TITLES[table]
    kept = " (not retracted)" if table == "view_facts" else ""
    return Table(
        title=title.replace(", every version", "") + ", as they stand",
        description=f"{description} Only the current versions{kept}.",
        columns=_columns(table),
        facets=_FACETS.get(table, []),
        sort=schema.KEY[table],
    )


def metadata(database: str) -> Metadata:
    """The metadata of the views in the database Datasette names `database`
    (a file's name without `.db`)."""
    tables = {t: _table(t) for t in schema.TABLES}
    tables |= {v: _current(v) for v in schema.CURRENT}
    for name, (table, key, label) in schema.LABELS.items():
        tables[name] = Table(
            title=name.capitalize(),
            description=f"Every {key} ever recorded, by its newest {label}: "
            "what the tables' links lead to.",
            columns={key: _SHARED[key], label: _COLUMNS[table][label]},
            label_column=label,
            sort=key,
        )
    tables["event_log"] = Table(
        title="Event log",
        description="Every recording, correction and retraction, as a sentence.",
        columns={
            c: _EVENT_LOG.get(c) or _SHARED[c]
            for c in (
                "position",
                "recorded_at",
                "recorded_by",
                "record",
                "slug",
                "version",
                "text",
            )
        },  # fmt: skip
        facets=["record", "recorded_by"],
        sort="position",
    )
    return Metadata(databases={database: Database(tables=tables)})
