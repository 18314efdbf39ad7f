"""Every view equals a naive replay of the events filtered to the point.

Hypothesis generates histories of appends, corrections and retractions with
a hand-moved clock and random EDTF dates, then asks the views and a naive
fold of the raw events the same questions at random (as_of, known_at).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch
from uuid import uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from khronika.domain import aggregates as agg
from khronika.domain import edtf
from khronika.domain.aggregates import Fact
from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.domain.documents import Citation, EntityDoc, FactDoc, SourceDoc
from khronika.domain.events import Event
from khronika.projections import queries
from khronika.projections.person import person
from khronika.projections.queries import Entities, Point, timeline
from khronika.projections.stats import stats, year_label
from khronika.projections.views import open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment

T0 = datetime(2030, 1, 1, tzinfo=UTC)
PEOPLE = ("person-a", "person-b")
ODD_YEARS = (-1985, -44, 0, 9996)  # beside long years, to test their order
CITE = [Citation(source="src", locator="para:1")]


def _year(year: int) -> str:
    return f"{year:04d}" if year >= 0 else f"-{-year:04d}"


@st.composite
def edtf_dates(draw: st.DrawFn) -> str:
    year = draw(st.one_of(st.integers(1990, 2025), st.sampled_from(ODD_YEARS)))
    y, month = _year(year), draw(st.integers(1, 12))
    simple = draw(st.sampled_from([
        y, f"{y}-{month:02d}", f"{y}-{month:02d}-{draw(st.integers(1, 28)):02d}",
        f"{y}-{draw(st.integers(21, 24))}", f"{y}~", f"{y}-{month:02d}?",
        f"{y[:-1]}X", f"{y}-{month:02d}%", "Y170000002", "Y-170000002~",
    ]))  # fmt: skip
    form = draw(st.sampled_from(["simple", "simple", "interval", "open", "unknown"]))
    if form == "interval":
        return f"{y}/{_year(year + draw(st.integers(0, 3)))}-{month:02d}"
    if form == "open":
        return draw(st.sampled_from([f"../{simple}", f"{simple}/.."]))
    if form == "unknown":
        return f"/{y}"
    return simple


operation = st.one_of(
    st.tuples(st.just("append"), st.integers(0, 2), st.sampled_from(
        ["verdict", "statement", "other"]), edtf_dates(), st.sampled_from(PEOPLE)),
    st.tuples(st.just("correct"), st.integers(0, 2), edtf_dates()),
    st.tuples(st.just("retract"), st.integers(0, 2)),
)  # fmt: skip


at_event = st.tuples(st.integers(0, 20), st.integers(-1, 1))


def fact(i: int, kind: str, when: str, who: str) -> FactDoc:
    role = "defendant" if kind == "verdict" else "speaker"
    return msgspec.convert({
        "id": f"fact-{i}", "kind": kind, "when": when, "summary": f"Fact {i}.",
        "participants": [{"entity": who, "role": role}],
        "sources": [{"source": "src", "locator": "para:1"}],
    }, FactDoc)  # fmt: skip


def play(app: Chronicle, ops: list[Any], gaps: list[int]) -> None:
    now = [T0]
    app.clock.source = lambda: now[0]
    app.add_source(msgspec.convert({
        "id": "src", "title": "t", "publisher": "p", "url": "https://x.org/",
        "published": "2024", "language": "en"}, SourceDoc), "a")  # fmt: skip
    for slug in PEOPLE:
        app.register_entity(EntityDoc(id=slug, kind="person", name=slug), "a")
    for op, gap in zip(ops, gaps, strict=False):
        now[0] += timedelta(minutes=gap)
        slug = f"fact-{op[1]}"
        exists = app.exists("fact", slug)
        if op[0] == "append" and not exists:
            app.append_fact(fact(*op[1:]), "a")
        elif op[0] != "append" and exists and not app.get(Fact, slug).retracted:
            if op[0] == "correct" and app.get(Fact, slug).doc.when != op[2]:
                app.correct(slug, {"when": op[2]}, "fix", CITE, "b")
            elif op[0] == "retract":
                app.retract(slug, "wrong", CITE, "c")


def naive_facts(events: list[Event], known_at: datetime | None) -> list[Fact]:
    states: dict[str, Any] = {}
    for event in events:
        if known_at is None or event.timestamp <= known_at:
            states[event.slug] = agg.apply(states.get(event.slug), event)
    return [s for s in states.values() if isinstance(s, Fact) and not s.retracted]


def naive_timeline(
    facts: list[Fact], as_of: Day | None, who: str | None = None, certain: bool = False
) -> list[tuple[str, int, str]]:
    """The facts at as_of in the timeline's order; with `who`, those naming
    that person only; with `certain`, those surely before as_of only."""
    rows = []
    for f in facts:
        if who is not None and who not in {p.entity for p in f.doc.participants}:
            continue
        b = edtf.parse(f.doc.date.edtf)
        if as_of is None or b.earliest <= as_of:
            sure = not b.uncertain and (as_of is None or b.latest <= as_of)
            status = "certain" if sure else "possible"
            if sure or not certain:
                rows.append((b.earliest, b.latest, f.doc.id, f.version, status))
    return [(slug, v, s) for _, _, slug, v, s in sorted(rows)]


# (limit, offset) of the pages asked at a point, and of those asked surely
# before its as_of too; the one page also read in one query (`PAGE_ROWS` 0)
PAGES, SURE, ONE = ((None, 0), (2, 1), (1, 3)), ((2, 1),), (2, 1)


def check_person_pages(views: Any, facts: list[Fact], point: Point) -> None:
    """Each person's page, at `point` and surely before its as_of, is the
    naive replay's facts naming them, paged, with their whole count; and
    read in two steps (keys, then the page's rows) it is the page read in
    one query, roles, sentences and statuses too."""
    known = Entities(views, point).rows  # none before they were registered
    for who in (p for p in PEOPLE if p in known):
        for sure, pages in ((False, PAGES), (True, SURE)):
            at = msgspec.structs.replace(point, certain=sure)
            named = naive_timeline(facts, at.as_of, who, certain=sure)
            for limit, offset in pages:
                page = person(views, who, at, limit=limit, offset=offset)
                got = [(f.id, f.version, f.status) for f in page.facts]
                end = None if limit is None else offset + limit
                assert got == named[offset:end], (who, at, limit, offset)
                assert page.facts_total == len(named), (who, at, limit, offset)
                if (limit, offset) == ONE:
                    with patch.object(queries, "PAGE_ROWS", 0):
                        assert person(views, who, at, limit=2, offset=1) == page


def naive_years(facts: list[Fact], as_of: Day | None) -> dict[str, tuple[int, int]]:
    certain: Counter[str] = Counter()
    possible: Counter[str] = Counter()
    for f in facts:
        b = edtf.parse(f.doc.date.edtf)
        if f.doc.kind != "verdict" or (as_of is not None and b.earliest > as_of):
            continue
        final = b.latest.year
        if b.latest == OPEN_END:
            final = as_of.year if as_of else max(Day.today().year, b.earliest.year)
        elif as_of is not None:
            final = min(final, as_of.year)
        if b.earliest == OPEN_START or final - b.earliest.year >= 1000:
            years = ["undated"]
        else:
            years = [year_label(y) for y in range(b.earliest.year, final + 1)]
        sure = len(years) == 1 and not b.uncertain
        sure = sure and (as_of is None or b.latest <= as_of)
        for y in years:
            (certain if sure else possible)[y] += 1
    return {k: (certain[k], possible[k]) for k in set(certain) | set(possible)}


def check(
    location: str,
    ops: list[Any],
    gaps: list[int],
    points: list[tuple[Day | None, Any]],
) -> None:
    app = Chronicle(location, create=True)
    views = open_views(environment(location))
    try:
        play(app, ops, gaps)
        views.catch_up(app.read_after)
        events = [e for _, e in app.read_after(0)]
        for i, (as_of, at) in enumerate(points):
            known = None
            if isinstance(at, int):  # a moment between events
                known = T0 + timedelta(minutes=at)
            elif at is not None:  # exactly at an event, or a microsecond off
                index, micro = at
                moment = events[index % len(events)].timestamp
                known = moment + timedelta(microseconds=micro)
            stamp = known.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if known else None
            point = Point(as_of=as_of, known_at=stamp)
            facts = naive_facts(events, known)
            got = [(f.id, f.version, f.status) for f in timeline(views, point)]
            assert got == naive_timeline(facts, as_of)
            if i == 0:  # at one point an example: they cost some ten queries each
                check_person_pages(views, facts, point)
            buckets = stats(views, point, "year").buckets
            assert not isinstance(buckets, msgspec.UnsetType)
            assert {b.key: (b.certain, b.possible) for b in buckets} == (
                naive_years(facts, as_of)
            )
    finally:
        views.datastore.close()
        app.close()


AS_OF = st.one_of(
    st.builds(Day.from_ordinal, st.integers(Day(1985, 1, 1).ordinal(),
                                            Day(2030, 12, 31).ordinal())),
    st.builds(Day.from_ordinal, st.integers(Day(-2000, 1, 1).ordinal(), 0)),
    st.sampled_from([Day(-1985, 6, 1), Day(0, 1, 1), Day(10000, 1, 1),
                     Day(170000002, 6, 1), Day(-170000002, 6, 1)]),
)  # fmt: skip
histories = given(
    ops=st.lists(operation, min_size=1, max_size=14),
    gaps=st.lists(st.integers(0, 90), min_size=14, max_size=14),
    points=st.lists(st.tuples(
        st.one_of(st.none(), AS_OF),
        st.one_of(st.none(), st.integers(-5, 20 * 90 + 5), at_event, at_event),
    ), min_size=3, max_size=3),
)  # fmt: skip


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@histories
@example(  # an open end after today's year: counted in its first year
    ops=[("append", 0, "verdict", "9996/..", "person-a")], gaps=[0] * 14,
    points=[(None, None)] * 3,
)  # fmt: skip
def test_views_equal_a_naive_replay_at_any_point(
    ops: list[Any], gaps: list[int], points: list[tuple[Day | None, Any]]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check(str(Path(tmp) / "k.db"), ops, gaps, points)


@pytest.mark.postgres
@settings(max_examples=200, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # fmt: skip
@histories
def test_views_on_postgres_equal_a_naive_replay_at_any_point(
    postgres_db: str,
    ops: list[Any],
    gaps: list[int],
    points: list[tuple[Day | None, Any]],
) -> None:
    check(f"{postgres_db}?schema=ex_{uuid4().hex[:12]}", ops, gaps, points)
