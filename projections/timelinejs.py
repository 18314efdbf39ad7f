"""The timeline as TimelineJS JSON (https://timeline.knightlab.com/docs/json-format.html).

One slide per fact of the timeline at the point. TimelineJS dates are numbers
(`year`, `month`, `day`; negative years are allowed), so each slide's dates
come from the EDTF bounds, and its `display_date` is the EDTF label, so that
`2023-21` reads "spring 2023", not "March 1, 2023":

- `start_date` is the earliest possible day, `end_date` the latest, when the
  two differ;
- an open end (`../2024-06`, `2020/..`) has no day: the slide starts at the
  other bound and has no `end_date`; the label ("until June 2024") says the
  rest. A fact open at both ends has no place on a timeline and is left out;
- approximate and uncertain dates say so in the slide's text;
- years JavaScript's dates cannot hold (before -271821 or after 275760) make
  the timeline's `scale` "cosmological", where TimelineJS counts in years.

This module also pages through the timeline for the other exports
(`every_fact`), pinned at one record time so that pages read one record.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import BinaryIO

import msgspec
from msgspec import UNSET, Struct, UnsetType

from khronika.domain import edtf
from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.projections import models as m
from khronika.projections.queries import Point, timeline
from khronika.projections.schema import NOW
from khronika.projections.views import ViewStore
from khronika.store.app import Chronicle

FILENAME = "timelinejs.json"
PAGE = 500  # facts read from the views at a time
HEADLINE_MAX = 120  # characters of the summary in a slide's headline
# What JavaScript's Date holds (TimelineJS's "human" scale): ±8.64e15 ms.
HUMAN_FIRST = Day(-271821, 4, 20)
HUMAN_LAST = Day(275760, 9, 13)


class Date(Struct, kw_only=True, omit_defaults=True):
    year: int
    month: int | UnsetType = UNSET
    day: int | UnsetType = UNSET
    display_date: str | UnsetType = UNSET


class Text(Struct, kw_only=True, omit_defaults=True):
    headline: str | UnsetType = UNSET
    text: str | UnsetType = UNSET


class Slide(Struct, kw_only=True, omit_defaults=True):
    start_date: Date
    end_date: Date | UnsetType = UNSET
    text: Text
    group: str | UnsetType = UNSET
    display_date: str | UnsetType = UNSET
    unique_id: str | UnsetType = UNSET


class Title(Struct, kw_only=True):
    text: Text


def pinned(views: ViewStore, point: Point) -> Point:
    """`point`, its record time fixed to the newest in the views if unset.

    An export reads the timeline in pages; pinned, every page reads the
    record as it stood when the export began, even if the views catch up
    with new events meanwhile.
    """
    if point.known_at is not None:
        return point
    rows = views.query(
        "SELECT MAX(recorded_from) AS last FROM (SELECT recorded_from FROM "
        "view_facts UNION ALL SELECT recorded_from FROM view_entities UNION ALL "
        "SELECT recorded_from FROM view_sources) AS t"
    )
    last = rows[0]["last"] if rows else None
    return msgspec.structs.replace(point, known_at=last or NOW)


def every_fact(views: ViewStore, point: Point, page: int = PAGE) -> Iterator[m.Fact]:
    """The timeline at `point` (pin it first: `pinned`), a page at a time."""
    after: tuple[str, str, str] | None = None
    while True:
        facts = timeline(views, point, limit=page, after=after)
        yield from facts
        if len(facts) < page:
            return
        bounds = edtf.parse(facts[-1].when.edtf)
        after = (bounds.earliest.key(), bounds.latest.key(), facts[-1].id)


def headline(summary: str) -> str:
    """The summary on one line, cut at a word near HEADLINE_MAX characters."""
    line = " ".join(summary.split())
    if len(line) <= HEADLINE_MAX:
        return line
    cut = line[: HEADLINE_MAX - 1].rsplit(" ", 1)[0] or line[: HEADLINE_MAX - 1]
    return cut.rstrip(" ,;:") + "…"


def date(day: Day, display: str | None = None) -> Date:
    return Date(
        year=day.year,
        month=day.month,
        day=day.day,
        display_date=UNSET if display is None else display,
    )


def human(day: Day) -> bool:
    """Whether TimelineJS's human scale (JavaScript's Date) holds `day`."""
    return HUMAN_FIRST <= day <= HUMAN_LAST


def marks(when: m.Dated) -> str:
    """What the date's qualifiers say: '(approximate)', '(uncertain)'."""
    found = [(when.approximate, "(approximate)"), (when.uncertain, "(uncertain)")]
    return " ".join(mark for on, mark in found if on)


def days(fact: m.Fact) -> tuple[Day | None, Day | None]:
    """The fact's earliest and latest possible day; None for an open end."""
    bounds = edtf.parse(fact.when.edtf)
    first = None if bounds.earliest == OPEN_START else bounds.earliest
    last = None if bounds.latest == OPEN_END else bounds.latest
    return first, last


def cited(fact: m.Fact) -> str:
    """The sources a fact cites, each with its locators: `src (para:5, para:6)`."""
    found: dict[str, list[str]] = {}
    for citation in fact.sources:
        found.setdefault(citation.source, []).append(citation.locator)
    return "; ".join(f"{s} ({', '.join(where)})" for s, where in found.items())


def slide(fact: m.Fact) -> Slide | None:
    """The fact's slide; None for a fact open at both ends (no day to place)."""
    first, last = days(fact)
    start = first or last
    if start is None:
        return None
    label = fact.when.label
    both = first is not None and last is not None and first != last
    end = date(last) if both and last is not None else UNSET
    qualified = " ".join(filter(None, [html.escape(label), marks(fact.when)]))
    wording = fact.when.wording
    said = f" (the source: “{html.escape(wording)}”)" if wording else ""
    body = (
        f"<p>{html.escape(fact.summary)}</p>"
        f"<p>When: {qualified}{said}</p>"
        f"<p>Sources: {html.escape(cited(fact))}</p>"
    )
    return Slide(
        start_date=date(start, label),
        end_date=end,
        text=Text(headline=html.escape(headline(fact.summary)), text=body),
        group=fact.kind,
        display_date=label,
        unique_id=fact.id,
    )


def write(app: Chronicle, views: ViewStore, point: Point, out: BinaryIO) -> int:
    """Write the timeline at `point` as TimelineJS JSON; return the slides written.

    The events are written as they are read, a page at a time; `scale`
    follows them, once every date has been seen.
    """
    point = pinned(views, point)
    as_of = point.as_of.isoformat() if point.as_of else "every date"
    title = Title(
        text=Text(
            headline="khronika timeline",
            text=html.escape(
                f"As of {as_of}; the record as it stood at {point.known_at}."
            ),
        )
    )
    out.write(b'{"title":' + msgspec.json.encode(title) + b',"events":[')
    written, cosmological = 0, False
    for fact in every_fact(views, point):
        found = slide(fact)
        if found is None:
            continue
        cosmological = cosmological or not all(
            human(day) for day in days(fact) if day is not None
        )
        out.write(b"," * (written > 0) + msgspec.json.encode(found))
        written += 1
    scale = "cosmological" if cosmological else "human"
    out.write(b'],"scale":' + msgspec.json.encode(scale) + b"}\n")
    return written
