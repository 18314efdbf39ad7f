"""The JSON API: one endpoint per read command, with the same parameters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from khronika.domain import edtf
from khronika.domain.days import Day
from khronika.domain.documents import ENTITY_KINDS, FACT_KINDS
from khronika.domain.errors import KhronikaError, NotFoundError, ValidationError
from khronika.domain.parse import MAX_COUNT
from khronika.projections import lists, points, queries
from khronika.projections import models as m
from khronika.projections.law import law
from khronika.projections.person import person
from khronika.projections.points import record_time
from khronika.projections.queries import Entities
from khronika.projections.search import search as find
from khronika.projections.stats import DIMENSIONS, Filters, stats
from khronika.store import attest
from khronika.store import checkpoint as cp
from khronika.store.audit import trace_fact
from khronika.web.params import POINT, RECORD_TIME, Param, Query
from khronika.web.reader import Reader, State

PAGE = 100
MAX_PAGE = 1000
KNOWN_AT = (POINT[1],)
# an endpoint's answer: its read model (a Struct), or a list of proofs
Handler = Callable[[Query, Reader, State, dict[str, str]], m.Model | m.Proofs]


@dataclass(frozen=True)
class Endpoint:
    path: str
    name: str
    summary: str
    params: tuple[Param, ...]
    handler: Handler
    model: Any  # the read model of its answer
    paged: bool = False  # its answer may have a next page (a `Link` header)


def next_page(answer: Any, q: Query) -> dict[str, str] | None:
    """The query parameters that ask for the page after `answer`, if any: a
    timeline's `next` cursor, or a person's next `offset`."""
    if isinstance(answer, m.Timeline) and isinstance(answer.next, str):
        return {"cursor": answer.next}
    if isinstance(answer, m.Person):
        offset = q.integer("offset", 0, low=0) + len(answer.facts)
        if answer.facts and offset < answer.facts_total:
            return {"offset": str(offset)}
    return None


TIMELINE = (
    *POINT,
    Param(
        "entity",
        "string",
        "Only facts naming this entity (slug, name or alias), in any way. Repeatable.",
        many=True,
    ),
    Param(
        "kind",
        "string",
        "Only facts of this kind. Repeatable.",
        many=True,
        choices=FACT_KINDS,
    ),
    Param("place", "string", "Only facts at this place. Repeatable.", many=True),
    Param(
        "from",
        "string",
        "Facts that may end on or after this EDTF date (its first day).",
        format="edtf",
    ),
    Param(
        "to",
        "string",
        "Facts that may start on or before this EDTF date (its last day).",
        format="edtf",
    ),
    Param("search", "string", "Text in the summary."),
    Param(
        "limit",
        "integer",
        f"Facts per page (1-{MAX_PAGE}, default {PAGE}).",
        low=1,
        high=MAX_PAGE,
    ),
    Param(
        "cursor",
        "string",
        "The `next` cursor of the page before.",
        pattern=r"^[A-Za-z0-9_=-]*$",
    ),
)


def timeline(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    """A page of the timeline; `next` continues it, pinned to one record time."""
    point = q.point()
    after, pinned = _cursor(q.text("cursor"))
    if pinned and point.known_at not in (None, pinned):
        raise ValidationError(
            "cursor", f"belongs to known_at {pinned}; leave known_at out or give that"
        )
    point = msgspec.structs.replace(point, known_at=pinned or point.known_at
                                    or state.views_stamp or None)  # fmt: skip
    named = q.many("entity") + q.many("place")
    entities = Entities(r.views, point) if named else None  # only when asked

    def members(name: str) -> list[str]:
        if entities is None:
            return []
        found = []
        for ident in q.many(name):
            try:
                slug = entities.resolve(ident)["entity"]
            except NotFoundError as e:
                raise NotFoundError(e.what, ident, e.suggestions, field=name) from None
            found += entities.members(slug)
        return found

    members_of, places = members("entity"), members("place")
    limit = q.integer("limit", PAGE, high=MAX_PAGE)
    facts = queries.timeline(
        r.views,
        point,
        entities=members_of or None,
        kinds=q.many("kind") or None,
        places=places or None,
        start=q.day("from", first=True),
        end=q.day("to"),
        text=q.text("search"),
        limit=limit + 1,
        after=after,
    )
    more = len(facts) > limit
    facts = facts[:limit]
    following = _next(facts[-1], point.known_at) if more and facts else None
    return m.Timeline(**point.header(state.lag), facts=facts, next=following)


def _next(fact: m.Fact, known_at: str | None) -> str:
    """The cursor after `fact`: its sort keys, and the record time of the page."""
    bounds = edtf.parse(fact.when.edtf)
    keys = [bounds.earliest.key(), bounds.latest.key(), fact.id, known_at or ""]
    return base64.urlsafe_b64encode(msgspec.json.encode(keys)).decode()


def _cursor(text: str | None) -> tuple[tuple[str, str, str] | None, str]:
    """The sort keys after which a page starts, and its pinned record time."""
    if text is None:
        return None, ""
    try:
        *keys, known_at = msgspec.json.decode(
            base64.urlsafe_b64decode(text.encode()), type=tuple[str, str, str, str]
        )
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ValidationError("cursor", "is not a cursor this server gave") from None
    return (keys[0], keys[1], keys[2]), known_at


def fact(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point, slug = q.point(), path["id"]
    history = queries.fact_history(r.views, slug, point)
    if not history:
        raise queries.unknown_fact(r.views, slug)
    current = history[-1]
    if point.certain and current.status != "certain":
        raise NotFoundError("certain fact", slug)
    return m.FactHistory(**point.header(state.lag), fact=current, history=history)


def trace(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    known_at = q.text("known_at")
    moment = None
    if known_at is not None:
        moment = points.moment(record_time(known_at))
    return trace_fact(
        r.app, path["id"], moment, lambda slug: queries.unknown_fact(r.views, slug)
    )


PERSON = (
    *POINT,
    Param("limit", "integer", f"Facts per page (1-{MAX_PAGE}, default {PAGE}); "
          "the sentences are always whole.", low=1, high=MAX_PAGE),
    Param("offset", "integer", "Facts to skip (`facts_total` counts them all).",
          low=0, high=MAX_COUNT),
)  # fmt: skip


def person_history(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point = q.point()
    limit = q.integer("limit", PAGE, high=MAX_PAGE)
    offset = q.integer("offset", 0, low=0)
    answer = person(r.views, path["id"], point, limit=limit, offset=offset)
    return m.at(answer, **point.header(state.lag))


def law_state(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point = q.point()
    return m.at(law(r.views, path["id"], point), **point.header(state.lag))


STATS = (
    *POINT,
    Param("charge", "string", "Only verdicts on this charge: LAW:ARTICLE or a "
          "law. Repeatable.", many=True),
    Param("place", "string", "Only facts at this place. Repeatable.", many=True),
    Param("court", "string", "Only verdicts of this court. Repeatable.", many=True),
    Param("kind", "string", "Count facts of this kind (default: verdicts; "
          "other kinds by year or place). Repeatable.", many=True,
          choices=FACT_KINDS),
)  # fmt: skip


def statistics(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point, by = q.point(), path["by"]
    if by not in DIMENSIONS:
        close = [d for d in DIMENSIONS if d[0] == by[:1]]
        raise NotFoundError("statistic", by, close or list(DIMENSIONS))
    entities = Entities(r.views, point)

    def slugs(name: str) -> list[str]:
        found = []
        for ident in q.many(name):
            try:
                found += entities.members(entities.resolve(ident)["entity"])
            except NotFoundError as e:
                raise NotFoundError(e.what, ident, e.suggestions, field=name) from None
        return found

    charges = [c for c in q.many("charge") if ":" in c]
    laws = [c for c in q.many("charge") if ":" not in c]
    for code in laws:
        try:
            charges.append(entities.resolve(code)["entity"])
        except NotFoundError as e:
            raise NotFoundError(e.what, code, e.suggestions, field="charge") from None
    filters = Filters(charges=charges, places=slugs("place"), courts=slugs("court"),
                      kinds=q.many("kind"))  # fmt: skip
    key = (by, msgspec.json.encode(filters), msgspec.json.encode(point),
           state.position, "" if point.as_of else Day.today().isoformat())  # fmt: skip
    found = r.memo(key, lambda: stats(r.views, point, by, filters))
    return m.at(found, **point.header(state.lag))


DIFF = (
    Param(
        "from",
        "string",
        "The earlier record time (ISO 8601).",
        example="2026-01-01",
        pattern=RECORD_TIME,
        required=True,
    ),
    Param("to", "string", "The later record time (default: now).", pattern=RECORD_TIME),
)


def diff(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    start = q.text("from")
    if start is None:
        raise ValidationError("from", "is required: the earlier record time")
    end = q.text("to")
    before = record_time(start, "from")
    after = record_time(end, "to") if end else state.last_stamp or before
    before, after = sorted((before, after))  # as the CLI takes its two times
    changes = queries.diff(r.views, before, after)
    return m.Diff(start=before, end=after, changes=changes, lag=state.lag)


ENTITIES = (
    *KNOWN_AT,
    Param("kind", "string", "Only entities of this kind.", choices=ENTITY_KINDS),
)


def entity_list(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    point = q.point()
    found = lists.entities(r.views, point, q.text("kind"))
    return m.Entities(**point.header(state.lag), entities=found)


def entity(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point = q.point()
    return m.at(
        lists.entity_facts(r.views, path["id"], point), **point.header(state.lag)
    )


def source_list(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    point = q.point()
    return m.Sources(**point.header(state.lag), sources=lists.sources(r.views, point))


def source(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    point = q.point()
    found = lists.source(r.views, path["id"], point)
    return m.OneSource(**point.header(state.lag), source=found,
                       copy_bytes=r.app.copy_bytes(found.sha256),
                       cited_by=lists.citations(r.views, found.id, point))  # fmt: skip


def checkpoint(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    """The log's size and root now, signed when this server holds the key."""
    size = r.app.store.tree_size()
    from khronika.store import merkle

    root = base64.b64encode(merkle.root(size, r.app.store.node)).decode()
    try:
        note: str | None = attest.checkpoint(r.app)
    except KhronikaError:
        note = None
    return m.Checkpoint(origin=attest.origin(r.app), size=size, root=root, note=note)


PROOF = (
    Param(
        "checkpoint",
        "string",
        "A signed checkpoint note of this log (its text, newlines included).",
        lines=True,
        required=True,
    ),
)


def proof(q: Query, r: Reader, state: State, path: dict[str, str]) -> Any:
    note = q.values.get("checkpoint", [""])[0]
    if not note.strip():
        raise ValidationError(
            "checkpoint", "is required: a checkpoint note of this log"
        )
    try:
        at = cp.parse(note)
    except KhronikaError as e:
        raise ValidationError("checkpoint", str(e)) from None
    return attest.inclusion(r.app, path["id"], at)


def status(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    return m.Status(
        head=state.head,
        position=state.position,
        lag=state.lag,
        last_recorded_at=state.last_stamp or None,
    )


SEARCH = (
    *POINT,
    Param("q", "string", "The words to find (each the start of a word).",
          example="Серебрякова"),
    Param("limit", "integer", "Results at most (1-1000, default 50)."),
)  # fmt: skip


def search(q: Query, r: Reader, state: State, _: dict[str, str]) -> Any:
    """Facts, entities and sources holding every word, best first."""
    text = q.text("q")
    if text is None:
        raise ValidationError("q", "give the words to find")
    point = msgspec.structs.replace(
        q.point(), known_at=q.point().known_at or state.views_stamp or None
    )
    return find(r.views, point, text, q.integer("limit", 50, high=MAX_PAGE))


ENDPOINTS = (
    Endpoint(
        "/api/timeline",
        "timeline",
        "Facts in world-time order, a page at a time.",
        TIMELINE,
        timeline,
        m.Timeline,
        paged=True,
    ),
    Endpoint(
        "/api/facts/{id}",
        "fact",
        "One fact as it stands, and its history.",
        POINT,
        fact,
        m.FactHistory,
    ),
    Endpoint(
        "/api/facts/{id}/trace",
        "trace",
        "A fact down to its events, recorders, sources, passages and proofs.",
        KNOWN_AT,
        trace,
        m.Trace,
    ),
    Endpoint(
        "/api/facts/{id}/proof",
        "proof",
        "Inclusion proofs of a fact's events against a checkpoint.",
        PROOF,
        proof,
        m.Proofs,
    ),
    Endpoint(
        "/api/person/{id}",
        "person",
        "A person's or group's history and sentence status, its facts a page "
        "at a time.",
        PERSON,
        person_history,
        m.Person,
        paged=True,
    ),
    Endpoint(
        "/api/search",
        "search",
        "One search across facts (summary, date wording, quotes), entities "
        "(names and aliases, in any script) and sources (titles), ranked, "
        "with the words found marked in each snippet.",
        SEARCH,
        search,
        m.Search,
    ),
    Endpoint(
        "/api/law/{id}",
        "law",
        "The penalties a law (or LAW:ARTICLE) set, and its amendments.",
        POINT,
        law_state,
        m.Law,
    ),
    Endpoint(
        "/api/stats/{by}",
        "stats",
        f"Verdict statistics by one of: {', '.join(DIMENSIONS)}; filtered by "
        "charge, place, court and kind. Each bucket counts its verdicts and "
        "their defendants (people and groups); `counts` says what `certain` and "
        "`possible` count, `total` sums each column, `notes` say where a total "
        "and its rows differ.",
        STATS,
        statistics,
        m.Stats,
    ),
    Endpoint(
        "/api/diff",
        "diff",
        "Facts added, corrected or retracted between two record times.",
        DIFF,
        diff,
        m.Diff,
    ),
    Endpoint(
        "/api/entities",
        "entities",
        "Entities known at a record time.",
        ENTITIES,
        entity_list,
        m.Entities,
    ),
    Endpoint(
        "/api/entities/{id}",
        "entity",
        "One entity, by slug, name or alias, and the facts naming it.",
        POINT,
        entity,
        m.OneEntity,
    ),
    Endpoint(
        "/api/sources",
        "sources",
        "Sources known at a record time.",
        KNOWN_AT,
        source_list,
        m.Sources,
    ),
    Endpoint(
        "/api/sources/{id}", "source", "One source.", KNOWN_AT, source, m.OneSource
    ),
    Endpoint(
        "/api/checkpoint",
        "checkpoint",
        "The log's size and Merkle root now "
        "(a signed note when the server holds the key).",
        (),
        checkpoint,
        m.Checkpoint,
    ),
    Endpoint(
        "/api/status",
        "status",
        "The log's head and the views' position.",
        (),
        status,
        m.Status,
    ),
)
