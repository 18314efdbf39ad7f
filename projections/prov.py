"""The provenance of the record as W3C PROV-JSON (https://www.w3.org/submissions/prov-json/).

The mapping, in the namespace `khronika` (`urn:khronika:`):

- each fact is an entity `khronika:fact/ID`, and each of its versions an
  entity `khronika:fact/ID/vN` (N the version of the event that made it),
  `specializationOf` the fact;
- each event on a fact (recording, correction, retraction) is an activity
  `khronika:event/POSITION` (its place in the log), starting and ending at
  its record time; it `wasAssociatedWith` its recorder, an agent
  `khronika:maintainer/NAME` (the name percent-encoded);
- a recording or correction generated a version (`wasGeneratedBy`), which
  `wasAttributedTo` the recorder; a corrected version `wasDerivedFrom` the
  one before with `prov:type` `prov:Revision` (PROV's wasRevisionOf);
- a retraction invalidated the last version (`wasInvalidatedBy`);
- each version `wasDerivedFrom` every source it cites (`prov:type`
  `prov:PrimarySource`) and every cited passage: an entity
  `khronika:source/SLUG/para/6` (the locator; `/q…` and a hash when quoted)
  with the quote as its `prov:value`, which `wasDerivedFrom` the source
  (`prov:Quotation` when quoted). An event `used` the passages it cites: a
  recording its fact's, a correction or retraction those given as its
  evidence.

The facts are those known at `point.known_at` that could have happened by
`point.as_of`, retracted ones too: a retraction is provenance.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO
from urllib.parse import quote

import msgspec
from msgspec import Struct, field

from khronika.domain import aggregates as agg
from khronika.domain.documents import Citation
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    stamp,
)
from khronika.projections import lists
from khronika.projections.queries import Point
from khronika.projections.timelinejs import pinned
from khronika.projections.views import ViewStore
from khronika.store.app import Chronicle

FILENAME = "prov.json"
NAMESPACE = "urn:khronika:"


class QName(Struct, kw_only=True):
    """A PROV-JSON typed literal holding a qualified name."""

    value: str = field(name="$")
    type: str = "prov:QUALIFIED_NAME"


class Typed(Struct, kw_only=True):
    """A PROV-JSON typed literal: `{"$": value, "type": xsd type}`."""

    value: str = field(name="$")
    type: str


class Record(Struct, kw_only=True, omit_defaults=True):
    """Base of PROV-JSON's records: their attributes, by qualified name."""


class Node(Record, kw_only=True, omit_defaults=True):
    prov_type: QName = field(name="prov:type")
    label: str | None = field(default=None, name="prov:label")


class FactNode(Node, kw_only=True, omit_defaults=True):
    pass


class VersionNode(Node, kw_only=True, omit_defaults=True):
    version: int = field(name="khronika:version")
    kind: str = field(name="khronika:kind")
    when: str = field(name="khronika:when")
    summary: str = field(name="khronika:summary")


class SourceNode(Node, kw_only=True, omit_defaults=True):
    publisher: str | None = field(default=None, name="khronika:publisher")
    url: Typed | None = field(default=None, name="khronika:url")
    published: str | None = field(default=None, name="khronika:published")


class PassageNode(Node, kw_only=True, omit_defaults=True):
    source: QName = field(name="khronika:source")
    locator: str = field(name="khronika:locator")
    value: str | None = field(default=None, name="prov:value")


class Activity(Node, kw_only=True, omit_defaults=True):
    start: str = field(name="prov:startTime")
    end: str = field(name="prov:endTime")
    position: int = field(name="khronika:position")
    reason: str | None = field(default=None, name="khronika:reason")


class Agent(Node, kw_only=True, omit_defaults=True):
    pass


class Generation(Record, kw_only=True, omit_defaults=True):
    entity: str = field(name="prov:entity")
    activity: str = field(name="prov:activity")
    time: str = field(name="prov:time")


class Invalidation(Generation, kw_only=True, omit_defaults=True):
    pass


class Usage(Generation, kw_only=True, omit_defaults=True):
    pass


class Association(Record, kw_only=True, omit_defaults=True):
    activity: str = field(name="prov:activity")
    agent: str = field(name="prov:agent")


class Attribution(Record, kw_only=True, omit_defaults=True):
    entity: str = field(name="prov:entity")
    agent: str = field(name="prov:agent")


class Derivation(Record, kw_only=True, omit_defaults=True):
    generated: str = field(name="prov:generatedEntity")
    used: str = field(name="prov:usedEntity")
    activity: str | None = field(default=None, name="prov:activity")
    prov_type: QName | None = field(default=None, name="prov:type")


class Specialization(Record, kw_only=True, omit_defaults=True):
    specific: str = field(name="prov:specificEntity")
    general: str = field(name="prov:generalEntity")


class Document(Struct, kw_only=True, omit_defaults=True):
    """A PROV-JSON document: each kind of record keyed by its identifier."""

    prefix: dict[str, str]
    entity: dict[str, Node] = {}
    activity: dict[str, Activity] = {}
    agent: dict[str, Agent] = {}
    wasGeneratedBy: dict[str, Generation] = {}  # PROV-JSON's names (camelCase)
    wasInvalidatedBy: dict[str, Invalidation] = {}
    used: dict[str, Usage] = {}
    wasAssociatedWith: dict[str, Association] = {}
    wasAttributedTo: dict[str, Attribution] = {}
    wasDerivedFrom: dict[str, Derivation] = {}
    specializationOf: dict[str, Specialization] = {}

    def size(self) -> int:
        """How many records (elements and relations) the document holds."""
        return sum(
            len(getattr(self, name))
            for name in self.__struct_fields__
            if name != "prefix"
        )


EVENT_TYPES = {
    FactRecorded: "khronika:FactRecorded",
    FactCorrected: "khronika:FactCorrected",
    FactRetracted: "khronika:FactRetracted",
}


class Builder:
    """The PROV records of the facts' events, relations numbered in order."""

    def __init__(self, sources: dict[str, SourceNode]) -> None:
        self.doc = Document(prefix={"khronika": NAMESPACE})
        self.sources = sources
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"_:r{self.count}"

    def agent(self, name: str) -> str:
        ident = f"khronika:maintainer/{quote(name, safe='')}"
        self.doc.agent.setdefault(
            ident, Agent(prov_type=QName(value="khronika:Maintainer"), label=name)
        )
        return ident

    def source(self, slug: str) -> str:
        ident = f"khronika:source/{slug}"
        node = self.sources.get(slug) or SourceNode(
            prov_type=QName(value="khronika:Source"), label=slug
        )
        self.doc.entity.setdefault(ident, node)
        return ident

    def passage(self, citation: Citation) -> str:
        """The cited passage's entity, derived from its source."""
        source = self.source(citation.source)
        ident = f"{source}/{citation.locator.replace(':', '/')}"
        if citation.quote is not None:
            digest = hashlib.sha256(citation.quote.encode()).hexdigest()[:16]
            ident += f"/q{digest}"
        if ident not in self.doc.entity:
            self.doc.entity[ident] = PassageNode(
                prov_type=QName(value="khronika:Passage"),
                label=f"{citation.source} {citation.locator}",
                source=QName(value=source),
                locator=citation.locator,
                value=citation.quote,
            )
            quoted = QName(value="prov:Quotation") if citation.quote else None
            self.doc.wasDerivedFrom[self._id()] = Derivation(
                generated=ident, used=source, prov_type=quoted
            )
        return ident

    def fact(self, slug: str, events: list[tuple[int, Event]]) -> None:
        """The records of one fact's events, oldest first."""
        fact = f"khronika:fact/{slug}"
        self.doc.entity[fact] = FactNode(
            prov_type=QName(value="khronika:Fact"), label=slug
        )
        state: agg.Aggregate | None = None
        last: str | None = None  # the version standing before this event
        for position, event in events:
            state = agg.apply(state, event)
            assert isinstance(state, agg.Fact)
            time = stamp(event.timestamp)
            activity = f"khronika:event/{position}"
            reason = getattr(event, "reason", "") or None
            self.doc.activity[activity] = Activity(
                prov_type=QName(value=EVENT_TYPES[type(event)]),
                label=f"{type(event).__name__} {slug} v{event.originator_version}",
                start=time,
                end=time,
                position=position,
                reason=reason,
            )
            agent = self.agent(event.recorded_by)
            self.doc.wasAssociatedWith[self._id()] = Association(
                activity=activity, agent=agent
            )
            evidence = (
                state.doc.sources
                if isinstance(event, FactRecorded)
                else getattr(event, "sources", [])
            )
            for citation in evidence:
                self.doc.used[self._id()] = Usage(
                    activity=activity, entity=self.passage(citation), time=time
                )
            if isinstance(event, FactRetracted):
                if last is not None:
                    self.doc.wasInvalidatedBy[self._id()] = Invalidation(
                        entity=last, activity=activity, time=time
                    )
                continue
            last = self._version(fact, slug, state, event, activity, agent, last)

    def _version(
        self,
        fact: str,
        slug: str,
        state: agg.Fact,
        event: Event,
        activity: str,
        agent: str,
        before: str | None,
    ) -> str:
        """The version a recording or correction made, and its relations."""
        doc, n = state.doc, event.originator_version
        version = f"{fact}/v{n}"
        self.doc.entity[version] = VersionNode(
            prov_type=QName(value="khronika:FactVersion"),
            label=f"{slug} v{n}",
            version=n,
            kind=doc.kind,
            when=doc.date.edtf,
            summary=doc.summary,
        )
        time, out = stamp(event.timestamp), self.doc
        out.specializationOf[self._id()] = Specialization(
            specific=version, general=fact
        )
        out.wasGeneratedBy[self._id()] = Generation(
            entity=version, activity=activity, time=time
        )
        out.wasAttributedTo[self._id()] = Attribution(entity=version, agent=agent)
        derived = out.wasDerivedFrom
        if before is not None:
            derived[self._id()] = Derivation(
                generated=version, used=before, activity=activity,
                prov_type=QName(value="prov:Revision"),
            )  # fmt: skip
        primary = QName(value="prov:PrimarySource")
        for source in dict.fromkeys(c.source for c in doc.sources):
            derived[self._id()] = Derivation(
                generated=version, used=self.source(source), prov_type=primary
            )
        for citation in doc.sources:
            used = self.passage(citation)
            derived[self._id()] = Derivation(generated=version, used=used)
        return version


def write(app: Chronicle, views: ViewStore, point: Point, out: BinaryIO) -> int:
    """Write the provenance of the facts at `point` as PROV-JSON.

    Returns how many PROV records (elements and relations) were written.

    PROV-JSON groups the records by kind (all entities in one object, all
    activities in the next, …), so writing it as it is read would take one
    pass over the facts' events per kind. The document is built in memory
    instead: about a dozen small records per event, one fact's events read
    at a time.
    """
    point = pinned(views, point)
    known_at = point.known_at or ""
    sources = {
        s.id: SourceNode(
            prov_type=QName(value="khronika:Source"),
            label=s.title,
            publisher=s.publisher,
            url=Typed(value=s.url, type="xsd:anyURI"),
            published=s.published,
        )
        for s in lists.sources(views, point)
    }
    builder = Builder(sources)
    rows = views.query(
        f"SELECT DISTINCT f.fact FROM view_facts f WHERE {point.where('f')} "
        "ORDER BY f.fact",
        point.params,
    )
    for row in rows:
        slug = row["fact"]
        events = [(position, event) for position, event in app.history("fact", slug)
                  if stamp(event.timestamp) <= known_at]  # fmt: skip
        builder.fact(slug, events)
    out.write(msgspec.json.encode(builder.doc) + b"\n")
    return builder.doc.size()
