"""The provenance of the record as W3C PROV-JSON (https://www.w3.org/submissions/prov-json/).

Two namespaces: `khronika` (`urn:khronika:`) for the vocabulary (the types
`khronika:Fact`, `khronika:FactVersion`, … and the attributes), and
`chronicle` (`urn:khronika:STORE-ID:`, the store's identity) for the ids, so
that two chronicles' `fact.x` stay apart when their provenance is merged.
Every id's local part is an XML NCName, so that the PROV-XML the `prov`
package writes from this file is valid against the W3C PROV-XML schema: its
parts are joined by `.` (slugs hold none), and a character outside
`A-Za-z0-9-` in a part is written `_` and its code point in hex, then `_`
(`Ann Lee` is `Ann_20_Lee`). The mapping:

- each fact is an entity `chronicle:fact.ID`, and each of its versions an
  entity `chronicle:fact.ID.vN` (N the version of the event that made it),
  `specializationOf` the fact;
- each event on a fact (recording, correction, retraction) is an activity
  `chronicle:event.POSITION` (its place in the log), starting and ending at
  its record time; it `wasAssociatedWith` its recorder, an agent
  `chronicle:maintainer.KEY-ID` (the key that signed; one who recorded
  before signing, `chronicle:maintainer.named.NAME`);
- a recording or correction generated a version (`wasGeneratedBy`), which
  `wasAttributedTo` the recorder; a corrected version `wasDerivedFrom` the
  one before with `prov:type` `prov:Revision` (PROV's wasRevisionOf);
- a retraction invalidated the last version (`wasInvalidatedBy`);
- each version `wasDerivedFrom` every source it cites (`prov:type`
  `prov:PrimarySource`) and every cited passage: an entity
  `chronicle:source.SLUG.para.6` (the locator; `.q` and a hash when quoted)
  with the quote as its `prov:value`, which `wasDerivedFrom` the source
  (`prov:Quotation` when quoted). An event `used` the passages it cites: a
  recording its fact's, a correction or retraction those given as its
  evidence.

The facts are those known at `point.known_at` that could have happened by
`point.as_of`, retracted ones too: a retraction is provenance.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from typing import BinaryIO

import msgspec
from msgspec import Struct, field

from khronika.domain import aggregates as agg
from khronika.domain import lenient
from khronika.domain.documents import Citation, FactDoc
from khronika.domain.events import (
    Event,
    FactCorrected,
    FactRecorded,
    FactRetracted,
    stamp,
)
from khronika.domain.ids import stream_id
from khronika.projections import lists
from khronika.projections.queries import Point, facts_by_slug
from khronika.projections.timelinejs import pinned
from khronika.projections.views import ViewStore
from khronika.store.app import Chronicle

FILENAME = "prov.json"
PAGE = 1000
NAMESPACE = "urn:khronika:"  # the vocabulary: types and attributes
PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")


def namespace(store_id: str) -> str:
    """The namespace of one chronicle's ids: its store's identity."""
    return f"{NAMESPACE}{store_id}:"


def ident(*parts: str) -> str:
    """`chronicle:` and the parts joined by `.`, each escaped to NCName
    characters (`_HEX_` for any other), so the id is a valid XML QName and
    distinct parts give distinct ids."""
    return "chronicle:" + ".".join(
        "".join(c if c in PLAIN else f"_{ord(c):X}_" for c in part) for part in parts
    )


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
    """A maintainer, identified by the key that signed (its registered name
    is the label); one who recorded before signing, by the name given."""

    key: str | None = field(default=None, name="khronika:key")


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


KINDS = (
    "entity",
    "activity",
    "agent",
    "wasGeneratedBy",
    "wasInvalidatedBy",
    "used",
    "wasAssociatedWith",
    "wasAttributedTo",
    "wasDerivedFrom",
    "specializationOf",
)  # PROV-JSON's names for the kinds of record, in the order written


class Spool:
    """PROV-JSON written as it is built, in bounded memory.

    PROV-JSON groups records by kind (every entity in one object, every
    activity in the next, …). Each kind's records go to a temporary file
    as they come; `write` joins the files into one document.
    """

    def __init__(self, stack: ExitStack, store_id: str) -> None:
        self.prefixes = {"khronika": NAMESPACE, "chronicle": namespace(store_id)}
        self.files = {k: stack.enter_context(tempfile.TemporaryFile()) for k in KINDS}
        self.counts = dict.fromkeys(KINDS, 0)
        self.seen: set[str] = set()  # agents, sources and passages written
        self.encoder = msgspec.json.Encoder()

    def add(self, kind: str, ident: str, record: Record) -> None:
        comma = b"," if self.counts[kind] else b""
        key, value = self.encoder.encode(ident), self.encoder.encode(record)
        self.files[kind].write(comma + key + b":" + value)
        self.counts[kind] += 1

    def once(self, kind: str, ident: str, record: Record) -> bool:
        """Add the record unless it was added; whether it was new."""
        if ident in self.seen:
            return False
        self.seen.add(ident)
        self.add(kind, ident, record)
        return True

    def write(self, out: BinaryIO) -> int:
        out.write(b'{"prefix":' + self.encoder.encode(self.prefixes))
        for kind, f in self.files.items():
            if self.counts[kind]:
                out.write(b',"' + kind.encode() + b'":{')
                f.seek(0)
                shutil.copyfileobj(f, out)
                out.write(b"}")
        out.write(b"}\n")
        return sum(self.counts.values())


EVENT_TYPES = {
    FactRecorded: "khronika:FactRecorded",
    FactCorrected: "khronika:FactCorrected",
    FactRetracted: "khronika:FactRetracted",
}


class Builder:
    """The PROV records of the facts' events, relations numbered in order."""

    def __init__(self, sources: dict[str, SourceNode], out: Spool) -> None:
        self.out = out
        self.sources = sources
        self.count = 0

    def _id(self) -> str:
        self.count += 1
        return f"_:r{self.count}"

    def _relation(self, kind: str, record: Record) -> None:
        self.out.add(kind, self._id(), record)

    def agent(self, name: str, key: str) -> str:
        """A maintainer by their key's id; one who recorded before signing by
        the name given."""
        agent_id = (
            ident("maintainer", key.rpartition("+")[2])
            if key
            else ident("maintainer", "named", name)
        )
        agent = Agent(
            prov_type=QName(value="khronika:Maintainer"), label=name, key=key or None
        )
        self.out.once("agent", agent_id, agent)
        return agent_id

    def source(self, slug: str) -> str:
        source_id = ident("source", slug)
        node = self.sources.get(slug) or SourceNode(
            prov_type=QName(value="khronika:Source"), label=slug
        )
        self.out.once("entity", source_id, node)
        return source_id

    def passage(self, citation: Citation) -> str:
        """The cited passage's entity, derived from its source."""
        source = self.source(citation.source)
        parts = ["source", citation.source, *citation.locator.split(":", 1)]
        if citation.quote is not None:
            digest = hashlib.sha256(citation.quote.encode()).hexdigest()[:16]
            parts.append(f"q{digest}")
        passage = ident(*parts)
        node = PassageNode(
            prov_type=QName(value="khronika:Passage"),
            label=f"{citation.source} {citation.locator}",
            source=QName(value=source),
            locator=citation.locator,
            value=citation.quote,
        )
        if self.out.once("entity", passage, node):
            quoted = QName(value="prov:Quotation") if citation.quote else None
            self._relation(
                "wasDerivedFrom",
                Derivation(generated=passage, used=source, prov_type=quoted),
            )
        return passage

    def fact(self, slug: str, events: list[tuple[int, Event, str]]) -> None:
        """The records of one fact's events, oldest first, each with the key
        that signed it ("" if none)."""
        fact = ident("fact", slug)
        self.out.add(
            "entity", fact, FactNode(prov_type=QName(value="khronika:Fact"), label=slug)
        )
        state: agg.Aggregate | None = None
        last: str | None = None  # the version standing before this event
        for position, event, key in events:
            state = agg.apply(state, event)
            assert isinstance(state, agg.Fact)
            time = stamp(event.timestamp)
            activity = ident("event", str(position))
            reason = getattr(event, "reason", "") or None
            self.out.add("activity", activity, Activity(
                prov_type=QName(value=EVENT_TYPES[type(event)]),
                label=f"{type(event).__name__} {slug} v{event.originator_version}",
                start=time,
                end=time,
                position=position,
                reason=reason,
            ))  # fmt: skip
            agent = self.agent(event.recorded_by, key)
            self._relation(
                "wasAssociatedWith", Association(activity=activity, agent=agent)
            )
            evidence = (
                state.doc.sources
                if isinstance(event, FactRecorded)
                else getattr(event, "sources", [])
            )
            for citation in evidence:
                used = Usage(
                    activity=activity, entity=self.passage(citation), time=time
                )
                self._relation("used", used)
            if isinstance(event, FactRetracted):
                if last is not None:
                    invalid = Invalidation(entity=last, activity=activity, time=time)
                    self._relation("wasInvalidatedBy", invalid)
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
        version = f"{fact}.v{n}"
        self.out.add("entity", version, VersionNode(
            prov_type=QName(value="khronika:FactVersion"),
            label=f"{slug} v{n}",
            version=n,
            kind=doc.kind,
            when=doc.date.edtf,
            summary=doc.summary,
        ))  # fmt: skip
        time, add = stamp(event.timestamp), self._relation
        add("specializationOf", Specialization(specific=version, general=fact))
        add("wasGeneratedBy", Generation(entity=version, activity=activity, time=time))
        add("wasAttributedTo", Attribution(entity=version, agent=agent))
        if before is not None:
            add("wasDerivedFrom", Derivation(
                generated=version, used=before, activity=activity,
                prov_type=QName(value="prov:Revision"),
            ))  # fmt: skip
        primary = QName(value="prov:PrimarySource")
        for source in dict.fromkeys(c.source for c in doc.sources):
            derived = Derivation(
                generated=version, used=self.source(source), prov_type=primary
            )
            add("wasDerivedFrom", derived)
        for citation in doc.sources:
            add("wasDerivedFrom", Derivation(
                generated=version, used=self.passage(citation)
            ))  # fmt: skip
        return version


def write(app: Chronicle, views: ViewStore, point: Point, out: BinaryIO) -> int:
    """Write the provenance of the facts at `point` as PROV-JSON.

    Returns how many PROV records (elements and relations) were written.

    The facts are read a page at a time and each fact's events one fact at
    a time; the records are spooled by kind (`Spool`), so memory holds only
    the agents, sources and passages already written.
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
    with ExitStack() as stack:
        spool = Spool(stack, app.meta["store_id"])
        builder = Builder(sources, spool)
        for slug, first, versions in _facts(views, point):
            if versions == 1:  # recorded once: its one view row says it all
                builder.fact(slug, [first])
                continue
            events = [(position, event, event.seal.key if event.seal else "")
                      for position, event in app.history("fact", slug)
                      if stamp(event.timestamp) <= known_at]  # fmt: skip
            builder.fact(slug, events)
        return spool.write(out)


def _facts(
    views: ViewStore, point: Point
) -> Iterator[tuple[str, tuple[int, FactRecorded, str], int]]:
    """The facts at `point` in slug order, a page at a time: each with its
    recording (rebuilt from its first view row) and how many versions it
    had by `point.known_at`."""
    select = (
        "f.fact, f.version, v.doc, v.recorded_by, v.recorded_key, v.recorded_from, "
        "v.position "
        "FROM view_facts f JOIN view_facts v ON v.fact = f.fact AND v.version = 1"
    )
    for r in facts_by_slug(views, select, point.where("f"), point.params, PAGE):
        recorded = FactRecorded(
            originator_id=stream_id("fact", r["fact"]), originator_version=1,
            timestamp=datetime.fromisoformat(r["recorded_from"]),
            recorded_by=r["recorded_by"], slug=r["fact"],
            doc=lenient.decode_json(r["doc"].encode(), FactDoc),
        )  # fmt: skip
        yield r["fact"], (r["position"], recorded, r["recorded_key"]), r["version"]
