"""The record as FollowTheMoney entities, one JSON object a line.

FollowTheMoney (FtM) is the data model of Aleph, OpenSanctions and their
tools (https://followthemoney.tech). Each entity is `{"id", "schema",
"properties"}`, every property a list of strings. The mapping:

- entities: `person` → Person; `organisation` and `platform` →
  Organization; `court` → PublicBody (FtM has no court schema); `group`
  (an unnamed or collective defendant) → LegalEntity, which FtM keeps for
  parties that are neither one person nor one organisation; `place` →
  Address (its name as `full`). Laws have no FtM schema: the articles a
  verdict convicts under are written out in its case's `category` and its
  sanctions' `reason`;
- sources → Article (title, publisher, `sourceUrl`, `publishedAt`);
- facts of kind `charge`, `trial` and `verdict` → CourtCase, with a
  CourtCaseParty for each participant (its `role`), and for a verdict a
  Sanction for each sentence of each defendant it is for, written as a
  court's sentence (no sanctions `program`; `authority` the court, `duration`
  the term in months, `recordId` its CourtCase); every other fact →
  Event, its participants `involved` (an `organiser` as `organizer`);
- each citation → Documentation linking the Article to the case or event,
  the locator as `role` and the quote as `summary`; the Articles a fact
  cites are also its `proof`.

Ids are stable and hold no dot, because FtM reads the last `.` of an id as
the start of a namespace signature (`ftm sign` would cut it there and merge
entities): `khronika-KIND-SLUG` (`khronika-fact-…`, `-entity-`, `-source-`),
and for the links the slugs they join, each part after `-X-` (a slug is
lower case, so `X` cannot occur in one); `khronika-KIND-H` and a hash where
that would pass FtM's 200 characters or end in a hyphen.

FtM dates are ISO prefixes of the years 1000-9999 that mean "some time in":
a fact's date is the narrowest prefix holding both its bounds (`2023-05`,
`2023`); where none does, an Event gets `startDate` and `endDate` from the
bounds instead, and a verdict's case `fileDate` and `closeDate` (it was
decided between them). Every case and event carries the EDTF label and its
qualifiers in `notes`. Years outside
1000-9999 have no FtM date.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import BinaryIO

import msgspec
from msgspec import Struct

from khronika.domain import edtf
from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.domain.documents import Sentence, VerdictDetails
from khronika.projections import lists
from khronika.projections import models as m
from khronika.projections.queries import Point
from khronika.projections.timelinejs import every_fact, headline, pinned
from khronika.projections.views import ViewStore
from khronika.store.app import Chronicle

FILENAME = "ftm.json"
PREFIX = "khronika"
ID_MAX = 200  # FtM's longest entity id
ID_VALID = re.compile(r"[0-9a-zA-Z]([0-9a-zA-Z-]*[0-9a-zA-Z])?\Z")  # FtM's, no dot
JOIN = "-X-"  # between the slugs of a link: slugs are lower case
FIRST_YEAR, LAST_YEAR = 1000, 9999  # the years FtM's date type takes

SCHEMA = {
    "person": "Person",
    "organisation": "Organization",
    "platform": "Organization",
    "court": "PublicBody",
    "group": "LegalEntity",
    "place": "Address",
}
PARTIES = {"person", "organisation", "platform", "court", "group"}
CASES = {"charge", "trial", "verdict"}


class Props(Struct, kw_only=True, omit_defaults=True):
    """Base of each schema's properties: every value a list of strings.

    The fields are FtM's property names (camelCase) as they are written.
    """


class IntervalProps(Props, kw_only=True, omit_defaults=True):
    summary: list[str] = []
    description: list[str] = []
    proof: list[str] = []
    date: list[str] = []
    startDate: list[str] = []
    endDate: list[str] = []


class ThingProps(Props, kw_only=True, omit_defaults=True):
    name: list[str] = []
    alias: list[str] = []
    notes: list[str] = []
    summary: list[str] = []
    proof: list[str] = []
    addressEntity: list[str] = []


class AddressProps(ThingProps, kw_only=True, omit_defaults=True):
    full: list[str] = []


class ArticleProps(ThingProps, kw_only=True, omit_defaults=True):
    title: list[str] = []
    publisher: list[str] = []
    sourceUrl: list[str] = []
    publishedAt: list[str] = []


class EventProps(ThingProps, kw_only=True, omit_defaults=True):
    date: list[str] = []
    startDate: list[str] = []
    endDate: list[str] = []
    involved: list[str] = []
    organizer: list[str] = []
    location: list[str] = []


class CourtCaseProps(ThingProps, kw_only=True, omit_defaults=True):
    type: list[str] = []
    status: list[str] = []
    category: list[str] = []
    court: list[str] = []
    fileDate: list[str] = []
    closeDate: list[str] = []


class CasePartyProps(IntervalProps, kw_only=True, omit_defaults=True):
    case: list[str]
    party: list[str]
    role: list[str] = []


class SanctionProps(IntervalProps, kw_only=True, omit_defaults=True):
    """A court's sentence: never a `program`, which names a sanctions list."""

    entity: list[str]
    authority: list[str] = []
    duration: list[str] = []
    provisions: list[str] = []
    reason: list[str] = []
    recordId: list[str] = []


class DocumentationProps(IntervalProps, kw_only=True, omit_defaults=True):
    document: list[str]
    entity: list[str]
    role: list[str] = []


class Entity(Struct, kw_only=True):
    """One FtM entity, as FtM's line-based JSON writes it."""

    id: str
    schema: str
    properties: Props


def ftm_id(kind: str, *slugs: str) -> str:
    """A stable id without dots: `khronika-KIND-SLUG-X-SLUG…`.

    Slugs are lower case and hold no `X`, so the parts cannot run into each
    other. An id FtM would not take as it is (too long, or a slug's trailing
    hyphen at its end) is `khronika-KIND-H` and a hash of it; `H` cannot
    begin a slug either.
    """
    plain = f"{PREFIX}-{kind}-{JOIN.join(slugs)}"
    if len(plain) <= ID_MAX and ID_VALID.match(plain):
        return plain
    return f"{PREFIX}-{kind}-H{hashlib.sha256(plain.encode()).hexdigest()}"


def line(text: str) -> str:
    """Text on one line, spaces collapsed, as FtM cleans a name."""
    return " ".join(text.split())


def _iso(day: Day) -> str | None:
    if FIRST_YEAR <= day.year <= LAST_YEAR:
        return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"
    return None


def prefix(first: Day, last: Day) -> str | None:
    """The narrowest FtM date (day, month or year) holding both bounds.

    An FtM date is a prefix that means "some time in": 2022-01/2022-06 is
    some time in 2022.
    """
    if not FIRST_YEAR <= first.year <= LAST_YEAR or first.year != last.year:
        return None
    if first == last:
        return _iso(first)
    if first.month == last.month:
        return f"{first.year:04d}-{first.month:02d}"
    return f"{first.year:04d}"


class Dates(Struct, kw_only=True):
    on: list[str]  # one prefix holding both bounds, if one does
    start: list[str]  # otherwise the bounds FtM can hold
    end: list[str]

    def case(self, kind: str) -> tuple[list[str], list[str]]:
        """A case's `fileDate` and `closeDate`: a charge's date is its filing,
        a verdict's its closing; a verdict dated only between two bounds
        (`1999/2006`) closed between them, so it spans them."""
        if kind == "charge":
            return self.on, []
        if kind == "verdict":
            return (self.start, self.end) if not self.on else ([], self.on)
        return [], []


def dates(when: m.Dated) -> Dates:
    bounds = edtf.parse(when.edtf)
    found = prefix(bounds.earliest, bounds.latest)
    if found is not None:
        return Dates(on=[found], start=[], end=[])
    start = None if bounds.earliest == OPEN_START else _iso(bounds.earliest)
    end = None if bounds.latest == OPEN_END else _iso(bounds.latest)
    return Dates(on=[], start=[start] if start else [], end=[end] if end else [])


def when_note(when: m.Dated) -> str:
    marks = [m for on, m in ((when.approximate, "approximate"),
                             (when.uncertain, "uncertain")) if on]  # fmt: skip
    qualified = f" ({', '.join(marks)})" if marks else ""
    return f"When: {when.label}{qualified}; EDTF {when.edtf}"


def sentence_text(sentence: Sentence) -> str:
    parts = [sentence.type.replace("_", " ")]
    if sentence.term_months is not None:
        parts.append(f"{sentence.term_months} months")
    if sentence.regime:
        parts.append(f"{sentence.regime.replace('_', ' ')} regime")
    if sentence.probation_months is not None:
        parts.append(f"probation {sentence.probation_months} months")
    return ", ".join(parts)


class Catalogue:
    """The entities and sources at the point, as FtM ids and names."""

    def __init__(self, entities: list[m.Entity], sources: list[m.Source]) -> None:
        self.kinds = {e.id: e.kind for e in entities}
        self.names = {e.id: line(e.name) for e in entities}
        self.articles = {
            (e.id, a.number): a.title for e in entities for a in e.articles
        }
        self.sources = {s.id for s in sources}

    def ref(self, slug: str, kinds: set[str] = PARTIES) -> str | None:
        """The FtM id of entity `slug` if it is one of `kinds`, else None."""
        if self.kinds.get(slug) in kinds:
            return ftm_id("entity", slug)
        return None

    def charge(self, article: str) -> str:
        """`kz-criminal-code-2014:180` as the law's name, the article, its title."""
        law, _, number = article.partition(":")
        title = self.articles.get((law, number))
        text = f"{self.names.get(law, law)}, article {number}"
        return line(f"{text}: {title}" if title else text)


def entity(e: m.Entity) -> Entity | None:
    schema = SCHEMA.get(e.kind)
    if schema is None:
        return None  # a law: FtM has no schema for legislation
    notes = [e.note] if e.note else []
    if e.merged_into:
        notes.append(f"Merged into {e.merged_into} (the same {e.kind}).")
    fields = {"name": [line(e.name)], "notes": notes,
              "alias": [line(a) for a in e.aliases]}  # fmt: skip
    if schema == "Address":
        return Entity(
            id=ftm_id("entity", e.id),
            schema=schema,
            properties=AddressProps(**fields, full=[line(e.name)]),
        )
    return Entity(
        id=ftm_id("entity", e.id), schema=schema, properties=ThingProps(**fields)
    )


def source(s: m.Source) -> Entity:
    published = []
    if edtf.is_valid(s.published):
        bounds = edtf.parse(s.published)
        published = [p for p in [prefix(bounds.earliest, bounds.latest)] if p]
    return Entity(
        id=ftm_id("source", s.id),
        schema="Article",
        properties=ArticleProps(
            name=[line(s.title)],
            title=[s.title],
            publisher=[s.publisher],
            sourceUrl=[s.url],
            publishedAt=published,
            notes=[f"Published: {s.published} (EDTF)"],
        ),
    )


def fact_entities(fact: m.Fact, cat: Catalogue) -> Iterator[Entity]:
    """The case or event of a fact, its parties, sanctions and citations."""
    fid = ftm_id("fact", fact.id)
    when = dates(fact.when)
    proof = sorted({ftm_id("source", c.source) for c in fact.sources
                    if c.source in cat.sources})  # fmt: skip
    named = [fact.place or "", *(p.entity for p in fact.participants)]
    places = sorted({ref for slug in named if (ref := cat.ref(slug, {"place"}))})
    common = {
        "name": [line(headline(fact.summary))],
        "summary": [fact.summary],
        "notes": [when_note(fact.when)],
        "proof": proof,
        "addressEntity": places,
    }
    courts = [cat.names[p.entity] for p in fact.participants
              if p.role == "court" and p.entity in cat.names]  # fmt: skip
    if fact.kind in CASES:
        details = fact.details if isinstance(fact.details, VerdictDetails) else None
        charges = [cat.charge(a) for a in details.charges] if details else []
        on = when.on
        filed, closed = when.case(fact.kind)
        yield Entity(
            id=fid,
            schema="CourtCase",
            properties=CourtCaseProps(
                **common,
                type=[fact.kind],
                status=[details.outcome] if details else [],
                category=charges,
                court=courts,
                fileDate=filed,
                closeDate=closed,
            ),
        )
        for p in fact.participants:
            party = cat.ref(p.entity)
            if party is None:
                continue
            yield Entity(
                id=ftm_id("party", fact.id, p.entity, p.role),
                schema="CourtCaseParty",
                properties=CasePartyProps(case=[fid], party=[party], role=[p.role]),
            )
        if details is not None:
            yield from _sanctions(fact, details, charges, courts, on, proof, cat)
    else:
        yield Entity(
            id=fid,
            schema="Event",
            properties=EventProps(
                **common,
                date=when.on,
                startDate=when.start,
                endDate=when.end,
                involved=sorted(
                    {ref for p in fact.participants if (ref := cat.ref(p.entity))}
                ),  # fmt: skip
                organizer=sorted(
                    {
                        ref
                        for p in fact.participants
                        if p.role == "organiser" and (ref := cat.ref(p.entity))
                    }
                ),  # fmt: skip
                location=[cat.names[fact.place]] if fact.place in cat.names else [],
            ),
        )
    for i, citation in enumerate(fact.sources, 1):
        if citation.source not in cat.sources:
            continue
        yield Entity(
            id=ftm_id("cites", fact.id, str(i)),
            schema="Documentation",
            properties=DocumentationProps(
                document=[ftm_id("source", citation.source)],
                entity=[fid],
                role=[citation.locator],
                summary=[citation.quote] if citation.quote else [],
            ),
        )


def _sanctions(
    fact: m.Fact,
    details: VerdictDetails,
    charges: list[str],
    courts: list[str],
    on: list[str],
    proof: list[str],
    cat: Catalogue,
) -> Iterator[Entity]:
    defendants = [p.entity for p in fact.participants if p.role == "defendant"]
    by, case = " and ".join(courts) or "a court", line(headline(fact.summary))
    for i, sentence in enumerate(details.sentences, 1):
        for defendant in [sentence.defendant] if sentence.defendant else defendants:
            target = cat.ref(defendant)
            if target is None:
                continue
            yield Entity(
                id=ftm_id("sanction", fact.id, str(i), defendant),
                schema="Sanction",
                properties=SanctionProps(
                    entity=[target],
                    authority=courts,
                    duration=_months(sentence.term_months),
                    provisions=[sentence_text(sentence)],
                    recordId=[ftm_id("fact", fact.id)],
                    description=[f"Sentenced by {by} in the case: {case}"],
                    reason=charges,
                    date=on,
                    summary=[fact.summary],
                    proof=proof,
                ),
            )


def _months(term: int | None) -> list[str]:
    return [] if term is None else [str(term)]


def write(app: Chronicle, views: ViewStore, point: Point, out: BinaryIO) -> int:
    """Write FtM entities, one JSON object a line; return how many.

    The entities and sources known at `point.known_at` first, then, page by
    page, the facts of the timeline at `point` and what hangs off them.
    """
    point = pinned(views, point)
    entities, sources = lists.entities(views, point), lists.sources(views, point)
    cat = Catalogue(entities, sources)
    encoder = msgspec.json.Encoder()
    written = 0

    def emit(found: Entity) -> None:
        nonlocal written
        out.write(encoder.encode(found) + b"\n")
        written += 1

    for e in entities:
        if (found := entity(e)) is not None:
            emit(found)
    for s in sources:
        emit(source(s))
    for fact in every_fact(views, point):
        for found in fact_entities(fact, cat):
            emit(found)
    return written
