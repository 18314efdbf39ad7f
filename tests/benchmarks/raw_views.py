"""The views rebuilt by hand: the same work as khronika's, written tightly.

The baseline for the views benchmark. It reads the stored events with one
ordered sqlite3 cursor, decodes them into khronika's event Structs, computes
the same rows with the same pure functions (`projections.rows`), closes the
versions they replace with `executemany`, and inserts with `executemany`,
into tables of the views' schema, with khronika's technique for a load into
empty views: large transactions, and the indexes the closing updates do not
use built once at the end. What it leaves out
is khronika's plumbing: eventsourcing's notification reads, the tracking
table, the views' lock. `tests/projections/test_raw_views.py` checks that
its tables equal khronika's row for row, the `search` columns too, and that
its full-text tables (made by the same `schema.create_statements`, kept by
their triggers) find the same rows.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

import msgspec

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Source
from khronika.domain.documents import FactDoc
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    kind_of,
    stamp,
)
from khronika.projections import schema
from khronika.projections.rows import FactVersion, entity_row, fact_rows, source_row
from khronika.store.codec import decode

_TABLES = {"fact": schema.FACT_TABLES, "entity": ("view_entities",),
           "source": ("view_sources",)}  # fmt: skip
_DOC = msgspec.json.Decoder(FactDoc)
_OPEN_FACT = (
    "SELECT doc, version, retracted, reason, recorded_by, recorded_key, position "
    "FROM view_facts "
    f"WHERE fact = ? AND recorded_to = '{schema.OPEN}'"
)


def rebuild(store: Path, target: Path, batch: int = 1000, load: int = 25_000) -> int:
    """Project every event of `store` into fresh tables in `target`.

    As khronika's load into empty views: `batch` events per round of
    statements, `load` per transaction, the DEFERRED indexes built at the end.
    """
    source = sqlite3.connect(store)
    db = sqlite3.connect(target, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # the store's journal, as khronika's
    for statement in schema.create_statements():
        db.execute(statement)
    for name in schema.DEFERRED:
        db.execute(f"DROP INDEX {name}")
    records: dict[str, Any] = {}  # entities and sources: few, kept in memory
    cursor = source.execute(
        "SELECT rowid, topic, state FROM stored_events ORDER BY rowid"
    )
    done = pending = 0
    db.execute("BEGIN")
    while rows := cursor.fetchmany(batch):
        _project(db, [(p, decode(t, s)) for p, t, s in rows], records)
        done, pending = done + len(rows), pending + len(rows)
        if pending >= load:
            db.execute("COMMIT")
            db.execute("BEGIN")
            pending = 0
    for table in schema.TABLES:
        for statement in schema.index_statements(table, deferred=True):
            db.execute(statement)
    db.execute("COMMIT")
    return done


def _project(
    db: sqlite3.Connection, events: list[tuple[int, Event]], records: dict[str, Any]
) -> None:
    inserts: dict[str, list[list[Any]]] = defaultdict(list)
    open_rows: dict[tuple[str, str], list[list[Any]]] = {}
    closes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    facts: dict[str, FactVersion] = {}
    for position, event in events:
        kind, slug, at = kind_of(event), event.slug, stamp(event.timestamp)
        if kind not in _TABLES:
            continue  # the store's key, the maintainers and redactions: no view
        if kind == "fact":
            version = _fact(db, facts, position, event)
            facts[slug] = version
            rows = list(fact_rows(version))
        else:
            key = f"{kind}:{slug}"
            records[key] = agg.apply(records.get(key), event)
            by = event.recorded_by
            row = (
                source_row(records[key], by, position)
                if isinstance(records[key], Source)
                else entity_row(records[key], by, position)
            )
            rows = [(_TABLES[kind][0], row)]
        pending = open_rows.get((kind, slug))
        if pending is not None:
            for stale in pending:
                stale[-1] = at
        elif event.originator_version > 1:
            closes[kind].append((at, slug))
        new = [[*row, at, schema.OPEN] for _, row in rows]
        for (table, _), full in zip(rows, new, strict=True):
            inserts[table].append(full)
        open_rows[(kind, slug)] = new
    for stream, pairs in closes.items():
        for table in _TABLES[stream]:
            db.executemany(schema.close_statement(table), pairs)
    for table, full_rows in inserts.items():
        db.executemany(schema.insert_statement(table), full_rows)


def _fact(
    db: sqlite3.Connection, facts: dict[str, FactVersion], position: int, event: Event
) -> FactVersion:
    if isinstance(event, FactRecorded):
        doc, retracted = event.doc, False
    else:
        before = facts.get(event.slug) or _stored_fact(db, event.slug)
        doc, retracted = before.doc, isinstance(event, FactRetracted)
        if isinstance(event, FactCorrected):
            doc = agg.apply_correction(doc, event)
    return FactVersion(
        doc=doc,
        version=event.originator_version,
        retracted=retracted,
        reason=getattr(event, "reason", ""),
        recorded_by=event.recorded_by,
        recorded_key=event.seal.key if event.seal else "",
        position=position,
    )


def _stored_fact(db: sqlite3.Connection, slug: str) -> FactVersion:
    doc, version, retracted, reason, by, key, position = db.execute(
        _OPEN_FACT, (slug,)
    ).fetchone()
    return FactVersion(doc=_DOC.decode(doc), version=version,
                       retracted=bool(retracted), reason=reason, recorded_by=by,
                       recorded_key=key, position=position)  # fmt: skip
