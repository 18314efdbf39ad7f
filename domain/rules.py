"""Domain rules a document must satisfy beyond its schema, and its references."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal

import msgspec

from khronika.domain import edtf
from khronika.domain.documents import (
    Citation,
    EntityDoc,
    FactDoc,
    LawAmendmentDetails,
    MeasurementDetails,
    Penalty,
    SentenceChangeDetails,
    SourceDoc,
    VerdictDetails,
)
from khronika.domain.errors import ValidationError

RefKind = Literal["source", "entity", "fact", "article"]
_COUNTED = {"para": "paragraphs", "page": "pages"}


class Reference(msgspec.Struct, frozen=True):
    """A slug a document points at, and the field that holds it; `want` is
    the kind of entity or fact it must name there, if only one will do."""

    field: str
    kind: RefKind
    slug: str
    want: str | None = None


def check_citations(citations: list[Citation], field: str = "sources") -> None:
    if not citations:
        raise ValidationError(field, "at least one citation is required")
    for i, citation in enumerate(citations):
        kind, _, where = citation.locator.partition(":")
        start, _, end = where.partition("-")
        if kind != "chars" and int(start) == 0:
            raise ValidationError(
                f"{field}[{i}].locator",
                f"'{citation.locator}': {_COUNTED[kind]} are counted from 1",
            )
        if end and int(end) < int(start):
            what = "character range" if kind == "chars" else "range"
            raise ValidationError(
                f"{field}[{i}].locator",
                f"{what} '{citation.locator}' ends before it starts",
            )


def check_fact(doc: FactDoc) -> None:
    """Raise ValidationError naming the field if the fact breaks a rule."""
    check_citations(doc.sources)
    when = doc.date
    edtf.check(when.edtf, field="when")
    if when.anchor is not None:
        edtf.check(when.anchor, field="when.anchor")
    if doc.details is not None:
        tag = type(doc.details).__struct_config__.tag
        if tag != doc.kind:
            raise ValidationError(
                "details",
                f"details of type '{tag}' do not fit a fact of kind '{doc.kind}'",
            )
    seen: set[tuple[str, str]] = set()
    for i, p in enumerate(doc.participants):
        if (p.entity, p.role) in seen:
            raise ValidationError(
                f"participants[{i}]", f"'{p.entity}' is listed twice as {p.role}"
            )
        seen.add((p.entity, p.role))
    if isinstance(doc.details, MeasurementDetails) and not math.isfinite(
        doc.details.value
    ):  # msgspec would store nan or inf as null, which no longer decodes
        raise ValidationError(
            "details.value", f"must be a finite number, not {doc.details.value}"
        )
    if isinstance(doc.details, LawAmendmentDetails):
        for side in ("penalties_before", "penalties_after"):
            for i, penalty in enumerate(getattr(doc.details, side)):
                check_penalty(penalty, f"details.{side}[{i}]")
    if isinstance(doc.details, VerdictDetails):
        defendants = {p.entity for p in doc.participants if p.role == "defendant"}
        for i, s in enumerate(doc.details.sentences):
            if s.defendant is not None and s.defendant not in defendants:
                raise ValidationError(
                    f"details.sentences[{i}].defendant",
                    f"'{s.defendant}' is not a defendant among the participants",
                )


def check_penalty(penalty: Penalty, field: str) -> None:
    low, high = penalty.min_term_months, penalty.max_term_months
    if low is not None and high is not None and low > high:
        raise ValidationError(
            f"{field}.min_term_months",
            f"the minimum term ({low} months) exceeds the maximum ({high})",
        )


def check_source(doc: SourceDoc) -> None:
    edtf.check(doc.published, field="published")


def check_entity(doc: EntityDoc) -> None:
    if doc.articles and doc.kind != "law":
        raise ValidationError("articles", f"only a law has articles, not a {doc.kind}")
    numbers = [a.number for a in doc.articles]
    for number in numbers:
        if numbers.count(number) > 1:
            raise ValidationError("articles", f"article '{number}' is listed twice")
    if len(set(doc.aliases)) != len(doc.aliases):
        raise ValidationError("aliases", "an alias is listed twice")


def references(doc: FactDoc) -> Iterator[Reference]:
    """Every slug the fact points at, with the field that holds it."""
    for i, c in enumerate(doc.sources):
        yield Reference(f"sources[{i}].source", "source", c.source)
    if doc.place is not None:
        yield Reference("place", "entity", doc.place, want="place")
    for i, p in enumerate(doc.participants):
        yield Reference(f"participants[{i}].entity", "entity", p.entity)
    details = doc.details
    if isinstance(details, VerdictDetails):
        for i, charge in enumerate(details.charges):
            yield Reference(f"details.charges[{i}]", "article", charge)
    elif isinstance(details, SentenceChangeDetails) and details.verdict is not None:
        yield Reference("details.verdict", "fact", details.verdict, want="verdict")
    elif isinstance(details, LawAmendmentDetails):
        yield Reference("details.law", "entity", details.law, want="law")
        for i, article in enumerate(details.articles):
            yield Reference(f"details.articles[{i}]", "article", article)
        for side in ("penalties_before", "penalties_after"):
            for i, penalty in enumerate(getattr(details, side)):
                if penalty.article is not None:
                    yield Reference(
                        f"details.{side}[{i}].article", "article", penalty.article
                    )


def citation_references(citations: list[Citation], field: str) -> Iterator[Reference]:
    for i, c in enumerate(citations):
        yield Reference(f"{field}[{i}].source", "source", c.source)
