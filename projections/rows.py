"""From one version of a record to its rows in the read-side tables."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import msgspec

from khronika.domain import edtf
from khronika.domain.aggregates import Entity, Source
from khronika.domain.documents import (
    FactDoc,
    LawAmendmentDetails,
    Penalty,
    Sentence,
    SentenceChangeDetails,
    VerdictDetails,
)
from khronika.projections.text import searchable

Row = tuple[Any, ...]
_encode = msgspec.json.Encoder().encode


class FactVersion(msgspec.Struct, frozen=True, kw_only=True):
    """A fact as it stood after one event, with who recorded that event."""

    doc: FactDoc
    version: int
    retracted: bool
    reason: str
    recorded_by: str
    position: int
    recorded_key: str = ""  # "<key name>+<key id>" of a signed event


def fact_rows(v: FactVersion) -> Iterator[tuple[str, Row]]:
    """(table, row) for every read-side row of this fact version; a child
    table's rows numbered from 1 (`item`) after the fact and version."""
    items: dict[str, int] = {}
    for table, row in _fact_rows(v):
        if table == "view_facts":
            yield table, row
        else:
            items[table] = n = items.get(table, 0) + 1
            yield table, (*row[:2], n, *row[2:])


def _fact_rows(v: FactVersion) -> Iterator[tuple[str, Row]]:
    doc, key = v.doc, (v.doc.id, v.version)
    when = doc.date
    label, span, approximate, uncertain = _dated(when.edtf)
    yield "view_facts", (
        *key, doc.kind, when.edtf, label, when.wording, *span, approximate,
        uncertain, doc.place, doc.summary, int(v.retracted), v.reason,
        v.recorded_by, v.recorded_key, v.position, _encode(doc).decode(),
        searchable(doc.summary, when.wording, *(c.quote for c in doc.sources)),
    )  # fmt: skip
    if v.retracted:
        return
    for p in doc.participants:
        yield "view_roles", (*key, p.entity, p.role, *span)
    for c in doc.sources:
        yield "view_citations", (*key, c.source, c.locator, c.quote)
    defendants = [p.entity for p in doc.participants if p.role == "defendant"]
    details = doc.details
    if isinstance(details, VerdictDetails):
        for article in details.charges:
            law = article.partition(":")[0]
            yield "view_charges", (*key, article, law, doc.place, *span)
        for defendant in defendants:
            mine: list[Sentence | None] = [
                s for s in details.sentences if s.defendant in (None, defendant)
            ]
            for s in mine or [None]:
                yield "view_sentences", (
                    *key, defendant, details.outcome,
                    s and s.type, s and s.term_months, s and s.regime,
                    s and s.probation_months, doc.place, *span,
                )  # fmt: skip
    elif isinstance(details, SentenceChangeDetails):
        for defendant in defendants:
            yield "view_changes", (
                *key, defendant, details.change, details.verdict,
                details.served_months, *span,
            )  # fmt: skip
    elif isinstance(details, LawAmendmentDetails):
        for side, penalties in (
            ("before", details.penalties_before),
            ("after", details.penalties_after),
        ):
            for penalty in penalties:
                yield "view_penalties", _penalty(key, details.law, side, penalty, span)


@lru_cache(maxsize=4096)  # dates repeat, as in edtf's own caches
def _dated(text: str) -> tuple[str, tuple[str, str], int, int]:
    """An EDTF date's label, bounds' keys and approximate and uncertain flags."""
    bounds = edtf.parse(text)
    span = (bounds.earliest.key(), bounds.latest.key())
    return edtf.describe(text), span, int(bounds.approximate), int(bounds.uncertain)


def _penalty(
    key: tuple[str, int], law: str, side: str, p: Penalty, span: tuple[str, str]
) -> Row:
    return (
        *key, law, p.article, side, p.conduct, p.min_term_months,
        p.max_term_months, *span,
    )  # fmt: skip


def entity_row(entity: Entity, recorded_by: str, position: int) -> Row:
    """An entity's version, with who recorded it and where in the log."""
    doc = entity.doc
    return (
        doc.id, entity.version, doc.kind, doc.name,
        _encode(doc.aliases).decode(), doc.note, entity.merged_into,
        _encode(doc.articles).decode(), recorded_by, position,
        searchable(doc.id, doc.name, *doc.aliases),
    )  # fmt: skip


def source_row(source: Source, recorded_by: str, position: int) -> Row:
    """A source's version, with who recorded it and where in the log."""
    doc = source.doc
    return (
        doc.id, source.version, doc.title, doc.publisher, doc.url, doc.published,
        doc.language, doc.sha256, recorded_by, position,
        searchable(doc.title, doc.publisher),
    )  # fmt: skip
