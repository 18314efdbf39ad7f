"""The catalogue of sources and entities, for checking references.

Entities and sources are few next to facts, so the catalogue is folded from
their events in memory. Facts are checked against the store one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

import msgspec
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from khronika.domain import aggregates as agg
from khronika.domain import names as names_
from khronika.domain.aggregates import Entity
from khronika.domain.documents import Citation, FactDoc, SourceDoc
from khronika.domain.errors import NotFoundError, ValidationError
from khronika.domain.events import (
    EntityAliasAdded,
    EntityMerged,
    EntityRegistered,
    EntityRenamed,
    Event,
    FactRecorded,
    SourceAdded,
    SourceCopyAttached,
    SourceCorrected,
)
from khronika.domain.ids import StreamKind
from khronika.domain.rules import Reference, citation_references, references
from khronika.store.codec import slug_of


class FactIndex(Protocol):
    def fact_kind(self, slug: str) -> str | None: ...

    def fact_slugs(self) -> Iterator[str]: ...


class Catalogue:
    EVENT_TYPES: tuple[type[Event], ...] = (
        SourceAdded,
        SourceCopyAttached,
        SourceCorrected,
        EntityRegistered,
        EntityAliasAdded,
        EntityRenamed,
        EntityMerged,
    )
    FACT_TOPICS = (get_topic(FactRecorded),)

    def __init__(self) -> None:
        self.entities: dict[str, Entity] = {}
        self.sources: dict[str, SourceDoc] = {}
        self.pending_facts: dict[str, str] = {}  # in this import: slug -> kind
        self._names: names_.Names | None = None
        self._looks: names_.Looks | None = None  # by skeleton, once asked for

    @classmethod
    def load(cls, events: Iterable[tuple[int, Event]]) -> Catalogue:
        catalogue = cls()
        for _, event in events:
            catalogue.add(event)
        return catalogue

    def add(self, event: Event) -> None:
        """Fold a source or entity event into the catalogue."""
        if isinstance(event, SourceAdded):
            self.sources[event.slug] = event.doc
        elif isinstance(event, SourceCopyAttached):
            doc = msgspec.structs.replace(self.sources[event.slug], sha256=event.sha256)
            self.sources[event.slug] = doc
        elif isinstance(event, SourceCorrected):
            doc = agg.corrected_source(self.sources[event.slug], event)
            self.sources[event.slug] = doc
        else:
            state = agg.apply(self.entities.get(event.slug), event)
            assert isinstance(state, Entity)
            self.entities[event.slug] = state
            entry = (event.slug, self._names_of(event.slug))
            if self._names is not None:  # kept up to date once built
                for name, owners in names_.index([entry]).items():
                    mine = self._names.setdefault(name, [])
                    mine.extend(o for o in owners if o not in mine)
            if self._looks is not None:
                names_.looks([entry], into=self._looks)

    @staticmethod
    def fact_slugs(notifications: Iterable[Notification]) -> Iterator[str]:
        for n in notifications:
            yield slug_of(n.state)

    def check_fact(self, doc: FactDoc, facts: FactIndex) -> None:
        """Raise NotFoundError for the first reference that does not resolve."""
        for ref in references(doc):
            self.check(ref, facts)

    def check_citations(self, citations: list[Citation], field: str) -> None:
        for ref in citation_references(citations, field):
            self.check(ref, None)

    def check(self, ref: Reference, facts: FactIndex | None) -> None:
        if ref.kind == "source":
            if ref.slug not in self.sources:
                raise self._miss("source", ref, list(self.sources))
        elif ref.kind == "entity":
            if ref.slug not in self.entities:
                raise self._miss("entity", ref, self.names())
            _check_kind(ref, self.entities[ref.slug].doc.kind)
        elif ref.kind == "article":
            self._check_article(ref)
        elif facts is not None:
            kind = self.pending_facts.get(ref.slug) or facts.fact_kind(ref.slug)
            if kind is None:
                raise self._miss("fact", ref, list(facts.fact_slugs()))
            _check_kind(ref, kind)

    def _check_article(self, ref: Reference) -> None:
        law_slug, _, number = ref.slug.partition(":")
        law = self.entities.get(law_slug)
        if law is None or law.doc.kind != "law":
            laws = [s for s, e in self.entities.items() if e.doc.kind == "law"]
            raise self._miss("law", Reference(ref.field, "entity", law_slug), laws)
        numbers = [a.number for a in law.doc.articles]
        if number not in numbers:
            known = [f"{law_slug}:{n}" for n in numbers]
            raise self._miss("article", ref, known)

    def not_found(self, kind: StreamKind, slug: str, facts: FactIndex) -> NotFoundError:
        ref = Reference("", kind, slug)
        if kind == "fact":
            return self._miss("fact", ref, list(facts.fact_slugs()))
        if kind == "source":
            return self._miss("source", ref, list(self.sources))
        return self._miss("entity", ref, self.names())

    def names(self) -> names_.Names:
        """Every slug, name and alias, with the entity slugs it names."""
        if self._names is None:
            self._names = names_.index(
                (slug, [e.doc.name, *e.doc.aliases])
                for slug, e in self.entities.items()
            )
        return self._names

    def check_names_free(self, slug: str, new: list[str], field: str) -> list[str]:
        """Refuse names for `slug` that another entity already answers to;
        return warnings for those that only look like another's."""
        names_.check_free(slug, new, self.names(), field)
        if self._looks is None:
            self._looks = names_.looks((s, self._names_of(s)) for s in self.entities)
        return names_.lookalikes(slug, new, self._looks, self._names_of)

    def _names_of(self, slug: str) -> list[str]:
        entity = self.entities.get(slug)
        return [] if entity is None else [entity.doc.name, *entity.doc.aliases]

    @staticmethod
    def _miss(
        what: str, ref: Reference, known: list[str] | names_.Names
    ) -> NotFoundError:
        return NotFoundError(what, ref.slug, names_.suggest(ref.slug, known),
                             field=ref.field)  # fmt: skip


_INSTEAD = {
    "place": "name it among the participants, and an entity of kind place here",
    "law": "a law amendment names the law it amends (an entity of kind law)",
    "verdict": "a sentence change names the verdict it changes",
}


def _check_kind(ref: Reference, kind: str) -> None:
    """ValidationError if `ref` must name a `ref.want` and names a `kind`."""
    if ref.want is not None and kind != ref.want:
        what = ("an " if kind[0] in "aeiou" else "a ") + kind.replace("_", " ")
        raise ValidationError(
            ref.field,
            f"'{ref.slug}' is {what}, not a {ref.want}: {_INSTEAD[ref.want]}",
        )
