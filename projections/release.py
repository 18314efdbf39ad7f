"""A release's records, read from the views at a point: the bundle's
documents in an order `import` can replay, and flat rows for spreadsheets.

Facts stream in pages in slug order, so memory does not grow with the
record. A sentence change that names a verdict sorting after it waits for
that verdict; a verdict outside `--as-of` that a kept fact names comes
along with it, so that the bundle always imports.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec

from khronika.domain import edtf, lenient
from khronika.domain.days import shown
from khronika.domain.documents import (
    Article,
    EntityDoc,
    FactDoc,
    LawAmendmentDetails,
    MeasurementDetails,
    Merge,
    Retraction,
    Sentence,
    SentenceChangeDetails,
    SourceDoc,
    VerdictDetails,
)
from khronika.domain.events import EntityMerged, FactRetracted, stamp
from khronika.domain.ids import StreamKind, stream_id
from khronika.projections.queries import Point, facts_by_slug
from khronika.projections.views import ViewStore
from khronika.store.app import Chronicle
from khronika.store.codec import decode

PAGE = 1000


class FactRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A fact as the record stood, with the version's record details."""

    id: str
    kind: str
    raw: bytes  # the document as the views store it: a FactDoc in JSON
    version: int
    recorded_at: str
    recorded_by: str
    retraction: Retraction | None = None
    recorded_key: str = ""  # the signer's "<key name>+<key id>"

    @property
    def doc(self) -> FactDoc:
        return lenient.decode_json(self.raw, FactDoc)


class Release:
    """The records of one store at one point on both time axes."""

    def __init__(self, app: Chronicle, views: ViewStore, point: Point) -> None:
        self.app, self.views, self.point = app, views, point

    def _rows(self, table: str, key: str) -> list[Any]:
        where = self.point.where("", world=False)
        return self.views.query(
            f"SELECT * FROM {table} WHERE {where} ORDER BY {key}", self.point.params
        )

    def sources(self) -> Iterator[SourceDoc]:
        for r in self._rows("view_sources", "source"):
            yield SourceDoc(
                id=r["source"], title=r["title"], publisher=r["publisher"],
                url=r["url"], published=r["published"], language=r["language"],
                sha256=r["sha256"],
            )  # fmt: skip

    def entities(self) -> Iterator[tuple[EntityDoc, str | None]]:
        """Each entity, and the entity it is merged into (or None)."""
        for r in self._rows("view_entities", "entity"):
            doc = EntityDoc(
                id=r["entity"], kind=r["kind"], name=r["name"],
                aliases=msgspec.json.decode(r["aliases"]), note=r["note"],
                articles=lenient.decode_json(r["articles"], list[Article]),
            )  # fmt: skip
            yield doc, r["merged_into"]

    def merge(self, slug: str, into: str) -> Merge:
        event = self._last("entity", slug, EntityMerged)
        return Merge(entity=slug, into=into, reason=event.reason)

    def facts(self) -> Iterator[FactRecord]:
        """Every fact at the point (retracted ones with their retraction),
        each after the fact it names."""
        waiting: dict[str, list[FactRecord]] = {}
        pulled: set[str] = set()  # named facts outside --as-of, given already

        def emit(record: FactRecord) -> Iterator[FactRecord]:
            yield record
            for held in waiting.pop(record.id, []):
                yield from emit(held)

        for record in self._pages():
            named = _verdict(record)
            if (
                named is None
                or named in pulled
                or (named < record.id and self._kept(named))
            ):
                yield from emit(record)  # what it names is out already
            elif self._kept(named):
                waiting.setdefault(named, []).append(record)  # it comes later
            else:  # outside --as-of: it comes along now
                pulled.add(named)
                yield from self._pages(only=named)
                yield from emit(record)
        for held in waiting.values():  # cannot happen while views are whole
            yield from held

    def _pages(self, only: str | None = None) -> Iterator[FactRecord]:
        params: dict[str, Any] = dict(self.point.params)
        where = self.point.where("f", world=only is None)
        if only is not None:
            where += " AND f.fact = :only"
            params["only"] = only
        select = (
            "f.fact, f.kind, f.doc, f.version, f.recorded_from, f.recorded_by, "
            "f.recorded_key, f.retracted FROM view_facts f"
        )
        for r in facts_by_slug(self.views, select, where, params, PAGE):
            yield self._record(r)

    def _record(self, r: Any) -> FactRecord:
        slug, retraction = r["fact"], None
        if r["retracted"]:
            event = self._retraction(slug)
            retraction = Retraction(fact=slug, reason=event.reason,
                                    sources=event.sources)  # fmt: skip
        return FactRecord(
            id=slug, kind=r["kind"], raw=r["doc"].encode(), version=r["version"],
            recorded_at=r["recorded_from"], recorded_by=r["recorded_by"],
            recorded_key=r["recorded_key"], retraction=retraction,
        )  # fmt: skip

    def _kept(self, slug: str) -> bool:
        """Whether the fact `slug` is at the point (and so in the pages)."""
        rows = self.views.query(
            "SELECT 1 FROM view_facts f WHERE f.fact = :only AND "
            + self.point.where("f"),
            self.point.params | {"only": slug},
        )
        return bool(rows)

    def _retraction(self, slug: str) -> FactRetracted:
        """A retracted fact's retraction: its stream's last event, for
        nothing is recorded on a fact after its retraction."""
        (stored,) = self.app.recorder.select_events(
            stream_id("fact", slug), desc=True, limit=1
        )
        event = decode(stored.topic, stored.state)
        assert isinstance(event, FactRetracted), slug
        return event

    def _last(self, kind: StreamKind, slug: str, cls: type[Any]) -> Any:
        """The stream's last event of type `cls` at the point's record time."""
        k = self.point.params["k"]
        found = [e for _, e in self.app.history(kind, slug)
                 if isinstance(e, cls) and stamp(e.timestamp) <= k]  # fmt: skip
        return found[-1]


def _verdict(record: FactRecord) -> str | None:
    """The verdict a sentence change names, if any."""
    if record.kind != "sentence_change":
        return None
    details = record.doc.details
    return details.verdict if isinstance(details, SentenceChangeDetails) else None


# -- flat tables ---------------------------------------------------------------
# table -> (column, what it holds); every table's rows name their fact first,
# and a fact's child tables end in its `retracted` flag, so that a spreadsheet
# that counts rows can leave a retracted fact's rows out. Cells follow
# `--format csv` (cli/output.cell): true/false, lists joined by "; ".
# fmt: off
RETRACTED = ("retracted", "true if the fact was retracted: leave the row out of counts")
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "facts": (
        ("id", "the fact's slug"), ("kind", "statement, verdict, …"),
        ("when", "the date in EDTF"), ("label", "the date in words"),
        ("earliest", "earliest possible day ('..' for an open start)"),
        ("latest", "latest possible day ('..' for an open end)"),
        ("approximate", "true if the date is approximate (~, %)"),
        ("uncertain", "true if the date is uncertain (?, %)"),
        ("wording", "the date as the source words it"),
        ("anchor", "the date the wording was resolved against"),
        ("summary", "what happened"), ("place", "entity slug of the place"),
        ("outcome", "a verdict's outcome"),
        ("law", "the law a law amendment changes"),
        ("quantity", "what a measurement measures"),
        ("value", "a measurement's value"), ("unit", "a measurement's unit"),
        ("version", "the version of the fact at the release's record time"),
        ("recorded_at", "when that version was recorded (UTC)"),
        ("recorded_by", "who recorded that version"),
        ("recorded_key", "the key that signed it (<name>+<key id>; empty if unsigned)"),
        ("retracted", "true if the fact was retracted"),
        ("retraction_reason", "why it was retracted"),
    ),
    "participants": (
        ("fact", "the fact's slug"), ("entity", "entity slug"),
        ("role", "defendant, speaker, court, …"), RETRACTED,
    ),
    "charges": (
        ("fact", "the verdict's slug"), ("article", "LAW:ARTICLE"), RETRACTED,
    ),
    "sentences": (
        ("fact", "the verdict's or sentence change's slug"),
        ("part", "'verdict', or 'new_sentence' of a sentence change"),
        ("defendant", "whom it is for; empty means every defendant"),
        ("type", "prison, penal_colony, suspended, fine, …"),
        ("term_months", "term in months"), ("regime", "colony regime"),
        ("probation_months", "probation in months"), RETRACTED,
    ),
    "sentence_changes": (
        ("fact", "the sentence change's slug"),
        ("change", "appeal, release, pardon, parole, amnesty, other"),
        ("verdict", "the verdict it changes"),
        ("served_months", "months served by then"), RETRACTED,
    ),
    "amended_articles": (
        ("fact", "the law amendment's slug"), ("article", "LAW:ARTICLE"),
        RETRACTED,
    ),
    "penalties": (
        ("fact", "the law amendment's slug"), ("side", "before or after"),
        ("conduct", "the conduct punished"), ("article", "LAW:ARTICLE"),
        ("min_term_months", "least term"), ("max_term_months", "longest term"),
        RETRACTED,
    ),
    "citations": (
        ("fact", "the fact's slug"), ("source", "source slug"),
        ("locator", "para:N, page:N or chars:A-B"), ("quote", "the words quoted"),
        ("cited_for", "'fact', or 'retraction' for a retraction's citation"),
        RETRACTED,
    ),
    "entities": (
        ("id", "entity slug"), ("kind", "person, group, court, law, …"),
        ("name", "display name"), ("aliases", "other names, joined by '; '"),
        ("note", "a short description"),
        ("merged_into", "the entity it is the same as"),
        ("merge_reason", "why it was merged"),
    ),
    "law_articles": (
        ("law", "the law entity's slug"), ("number", "article number"),
        ("title", "article title"),
    ),
    "sources": (
        ("id", "source slug"), ("title", "title"), ("publisher", "publisher"),
        ("url", "URL"), ("published", "publication date, EDTF"),
        ("language", "language code"),
        ("sha256", "SHA-256 of the archived copy (in copies/ when stored)"),
    ),
}
# fmt: on
Row = tuple[str, tuple[Any, ...]]


def fact_rows(r: FactRecord) -> Iterator[Row]:
    """(table, row) for each row a fact gives."""
    doc = r.doc
    when, details = doc.date, doc.details
    bounds = edtf.parse(when.edtf)
    verdict = details if isinstance(details, VerdictDetails) else None
    law = details if isinstance(details, LawAmendmentDetails) else None
    measure = details if isinstance(details, MeasurementDetails) else None
    retraction = r.retraction
    gone = retraction is not None
    yield "facts", (
        doc.id, doc.kind, when.edtf, edtf.describe(when.edtf),
        shown(bounds.earliest.key()), shown(bounds.latest.key()),
        bounds.approximate, bounds.uncertain, when.wording, when.anchor,
        doc.summary, doc.place, verdict and verdict.outcome, law and law.law,
        measure and measure.quantity, measure and measure.value,
        measure and measure.unit, r.version, r.recorded_at, r.recorded_by,
        r.recorded_key, gone, retraction and retraction.reason,
    )  # fmt: skip
    for table, row in _children(doc, retraction):
        yield table, (*row, gone)


def _children(doc: FactDoc, retraction: Retraction | None) -> Iterator[Row]:
    """(table, row) for each row of the fact's child tables, but its flag."""
    details = doc.details
    for p in doc.participants:
        yield "participants", (doc.id, p.entity, p.role)
    for c in doc.sources:
        yield "citations", (doc.id, c.source, c.locator, c.quote, "fact")
    for c in retraction.sources if retraction else []:
        yield "citations", (doc.id, c.source, c.locator, c.quote, "retraction")
    if isinstance(details, VerdictDetails):
        for article in details.charges:
            yield "charges", (doc.id, article)
        for s in details.sentences:
            yield "sentences", _sentence(doc.id, "verdict", s)
    if isinstance(details, SentenceChangeDetails):
        yield "sentence_changes", (doc.id, details.change, details.verdict,
                                   details.served_months)  # fmt: skip
        if details.new_sentence:
            yield "sentences", _sentence(doc.id, "new_sentence", details.new_sentence)
    if isinstance(details, LawAmendmentDetails):
        for article in details.articles:
            yield "amended_articles", (doc.id, article)
        for side, penalties in (("before", details.penalties_before),
                                ("after", details.penalties_after)):  # fmt: skip
            for penalty in penalties:
                yield "penalties", (
                    doc.id, side, penalty.conduct, penalty.article,
                    penalty.min_term_months, penalty.max_term_months,
                )  # fmt: skip


def _sentence(fact: str, part: str, s: Sentence) -> tuple[Any, ...]:
    return (fact, part, s.defendant, s.type, s.term_months, s.regime,
            s.probation_months)  # fmt: skip


def entity_rows(doc: EntityDoc, merge: Merge | None) -> Iterator[Row]:
    yield "entities", (
        doc.id, doc.kind, doc.name, doc.aliases,
        doc.note, merge and merge.into, merge and merge.reason,
    )  # fmt: skip
    for a in doc.articles:
        yield "law_articles", (doc.id, a.number, a.title)


def source_row(doc: SourceDoc) -> Row:
    return "sources", (doc.id, doc.title, doc.publisher, doc.url, doc.published,
                       doc.language, doc.sha256)  # fmt: skip
