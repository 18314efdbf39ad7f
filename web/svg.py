"""The timeline picture: each fact labelled, in lanes, by the shape of its date.

A fact's date is drawn by what it means:

- one known day: a point (a circle);
- a known duration (an investigation, which lasts): a solid bar from its
  first to its last day; a verdict's custodial term follows it as a thin bar;
- an uncertain date (a month, a year, "~", "?", "between … and …"): a
  faint, dotted pill with end caps, an error bar rather than a bar, over
  every day it may have been; it cannot be read as something that lasted.

Colours tell the kind (a legend names them); a fact only possible at the
as-of day is drawn hollow and dashed. Every item carries its label (its kind
and the names in it), placed above the mark; items and their labels are
packed in rows so that no two labels overlap. The as-of line is drawn first,
under everything, so that it hides nothing. An open end, or one cut at the
picture's edge, fades out toward the edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from khronika.domain import edtf
from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.domain.documents import FACT_KINDS, VerdictDetails
from khronika.projections.models import Fact, Named

WIDTH, LEFT, RIGHT, TOP = 1000, 10, 10, 24
ROW = 30  # a row: its label (11 units high), then the mark under it
LANE_HEAD = 18  # a lane's name above its rows
CHAR = 6.6  # the widest average advance of an 11-unit label character
GAP = 10  # between two items in a row
POINT_R = 4.5
LONGEST = 44  # characters of a label; the full text is in its tooltip
LASTING = {"investigation"}  # kinds whose date is a duration, not a moment
CUSTODIAL = {"prison", "penal_colony", "restriction_of_freedom"}
Scale = Callable[[Day, float], float]  # a day's x, or the edge given if open
LANES = ("kind", "person", "case")
KIND_WORDS = {
    "statement": "Statement",
    "investigation": "Investigation",
    "detention": "Detention",
    "charge": "Charge",
    "trial": "Trial",
    "verdict": "Verdict",
    "sentence_change": "Sentence change",
    "law_amendment": "Law amended",
    "publication": "Publication",
    "measurement": "Measurement",
    "diplomatic": "Diplomatic",
    "other": "Event",
}
# roles that name whom a fact is about, in the order a title names them
LEADS = ("defendant", "speaker", "author", "organiser", "official", "subject")
PEOPLE = {"person", "group"}


@dataclass(frozen=True)
class Item:
    id: str
    kind: str
    shape: str  # point, bar or fuzzy
    x0: float
    x1: float
    y: float  # the mark's centre line
    label: str
    label_x: float
    anchor: str  # the label's text-anchor: start or end
    classes: str
    title: str
    term: tuple[float, float] | None = None  # a custodial term's bar, x0 and x1
    term_title: str = ""

    @property
    def width(self) -> float:
        return round(self.x1 - self.x0, 1)


@dataclass(frozen=True)
class Lane:
    name: str
    y: float  # its heading's baseline
    end: float  # below its last row


@dataclass(frozen=True)
class Tick:
    x: float
    year: int
    zoom: tuple[str, str]  # the period from this tick to the next, as from/to


@dataclass(frozen=True)
class Picture:
    items: list[Item]
    lanes: list[Lane]
    ticks: list[Tick]
    as_of: float | None
    height: float
    years: tuple[int, int]  # the first and last year drawn
    kinds: list[str] = field(default_factory=list)  # those drawn, for the legend
    width: int = WIDTH


def picture(
    facts: list[Fact],
    as_of: Day | None,
    names: dict[str, Named] | None = None,
    *,
    lanes: str = "kind",
    start: Day | None = None,
    end: Day | None = None,
) -> Picture:
    """The picture of `facts`, in lanes by `lanes`, over `start`–`end` when
    given (a zoom) or else over every day the facts may fall on."""
    names = names or {}
    spans = [(f, edtf.parse(f.when.edtf)) for f in facts]
    if start is not None and end is not None:
        low, high = start.ordinal(), max(end.ordinal(), start.ordinal() + 1)
    else:
        days = [
            d.ordinal()
            for _, b in spans
            for d in (b.earliest, b.latest)
            if d not in (OPEN_START, OPEN_END)
        ]
        low, high = _domain(days, as_of)
        pad = max((high - low) // 40, 30)
        low, high = low - pad, high + pad
    scale = (WIDTH - LEFT - RIGHT) / (high - low)

    def x(day: Day, edge: float) -> float:
        if day in (OPEN_START, OPEN_END):
            return edge
        return min(max(LEFT + (day.ordinal() - low) * scale, LEFT), WIDTH - RIGHT)

    keys = _lanes(facts, names, lanes)
    grouped: dict[str, list[tuple[Fact, edtf.Bounds]]] = {}
    for f, b in spans:
        grouped.setdefault(keys[f.id], []).append((f, b))
    order = sorted(grouped, key=_lane_order(lanes))

    items: list[Item] = []
    drawn_lanes: list[Lane] = []
    y = float(TOP)
    for lane in order:
        heading = y + 12
        rows: list[float] = []  # each row's right end so far
        placed = []
        for f, b in sorted(grouped[lane], key=lambda fb: x(fb[1].earliest, LEFT)):
            shape = _shape(f, b)
            x0, x1 = x(b.earliest, LEFT), x(b.latest, WIDTH - RIGHT) + scale
            if shape == "point":
                x0, x1 = x0 + scale / 2 - POINT_R, x0 + scale / 2 + POINT_R
            elif x1 - x0 < 12:  # a narrow span, widened so that it reads
                middle = (x0 + x1) / 2
                x0, x1 = middle - 6, middle + 6
            term = _term(f, b, x) if shape != "bar" else None
            label = _title(f, names)
            shown = label if len(label) <= LONGEST else label[: LONGEST - 1] + "…"
            wide = len(shown) * CHAR
            label_x, anchor = x0, "start"
            if x0 + wide > WIDTH - RIGHT:  # near the right edge: end there
                label_x, anchor = max(x1, term[1] if term else x1), "end"
                label_x = min(label_x, WIDTH - RIGHT)
            left = min(x0, label_x - wide if anchor == "end" else x0)
            right = max(x1, label_x if anchor == "end" else x0 + wide)
            if term:
                right = max(right, term[1])
            row = next((i for i, r in enumerate(rows) if r + GAP <= left), None)
            if row is None:
                rows.append(right)
                row = len(rows) - 1
            else:
                rows[row] = right
            beyond_start = b.earliest == OPEN_START or b.earliest.ordinal() < low
            beyond_end = b.latest == OPEN_END or b.latest.ordinal() > high
            classes = [shape, f"k-{f.kind}", f.status or "certain"]
            classes += ["approximate"] * b.approximate + ["uncertain"] * b.uncertain
            classes += ["open-start"] * beyond_start + ["open-end"] * beyond_end
            placed.append((row, f, shape, x0, x1, shown, label_x, anchor,
                           classes, term, label))  # fmt: skip
        for (
            row,
            f,
            shape,
            x0,
            x1,
            shown,
            label_x,
            anchor,
            classes,
            term,
            label,
        ) in placed:  # noqa: E501
            mark = heading + 8 + row * ROW + 18
            items.append(
                Item(
                    f.id,
                    f.kind,
                    shape,
                    round(x0, 1),
                    round(x1, 1),
                    mark,
                    shown,
                    round(label_x, 1),
                    anchor,
                    " ".join(classes),
                    f"{label} · {f.when.label} · {_said(shape, f)}: {f.summary}",
                    (round(term[0], 1), round(term[1], 1)) if term else None,
                    _term_words(f),
                )  # fmt: skip
            )
        bottom = heading + 8 + len(rows) * ROW + 4
        drawn_lanes.append(Lane(lane, heading, bottom))
        y = bottom + 6
    first, last = Day.from_ordinal(low).year, Day.from_ordinal(high).year
    step = _step(last - first)
    years = range(first - first % step + step, last + 1, step)
    ticks = [
        Tick(round(x(Day(t, 1, 1), LEFT), 1), t, (str(t), str(t + step - 1)))
        for t in years
    ]
    line = None if as_of is None else round(x(as_of, 0), 1)
    kinds = [k for k in FACT_KINDS if any(f.kind == k for f in facts)]
    return Picture(items, drawn_lanes, ticks, line, y + 4, (first, last), kinds)


def _shape(f: Fact, b: edtf.Bounds) -> str:
    if f.kind in LASTING and b.earliest != b.latest and not b.uncertain:
        return "bar"
    if b.earliest == b.latest and not (b.approximate or b.uncertain):
        return "point"
    return "fuzzy"


def _said(shape: str, f: Fact) -> str:
    what = {
        "point": "on this day",
        "bar": "lasting this whole span",
        "fuzzy": "on one day somewhere in this span",
    }[shape]
    return f"{what}, {f.status or 'certain'}"


def _title(f: Fact, names: dict[str, Named]) -> str:
    """ "Verdict: Tatyana Serebryakova": the kind and whom it is about."""
    lead = sorted(
        (p for p in f.participants if p.role in LEADS),
        key=lambda p: LEADS.index(p.role),
    )
    who = [names[p.entity].name if p.entity in names else p.entity for p in lead]
    if not who:
        who = [
            names[p.entity].name if p.entity in names else p.entity
            for p in f.participants[:1]
        ]
    unique = list(dict.fromkeys(who))
    said = ", ".join(unique[:2]) + (" and others" if len(unique) > 2 else "")
    if not said:
        said = f.summary.split(". ")[0].rstrip(".")
    return f"{KIND_WORDS.get(f.kind, f.kind)}: {said}"


def _term(f: Fact, b: edtf.Bounds, x: Scale) -> tuple[float, float] | None:
    """A verdict's longest custodial term, from its first possible day."""
    months = _term_months(f)
    if not months or b.earliest in (OPEN_START, OPEN_END):
        return None
    first = b.earliest.ordinal()
    x0 = x(b.earliest, LEFT)
    last = Day.from_ordinal(first + round(months * 30.44))
    return x0, max(x(last, WIDTH - RIGHT), x0 + 2)


def _term_months(f: Fact) -> int:
    if not isinstance(f.details, VerdictDetails):
        return 0
    terms = [s.term_months or 0 for s in f.details.sentences if s.type in CUSTODIAL]
    return max(terms, default=0)


def _term_words(f: Fact) -> str:
    months = _term_months(f)
    if not months:
        return ""
    years, rest = divmod(months, 12)
    said = [f"{years} year{'s' * (years != 1)}"] * bool(years)
    said += [f"{rest} month{'s' * (rest != 1)}"] * bool(rest)
    return "custodial term: " + " ".join(said)


def _lanes(facts: list[Fact], names: dict[str, Named], by: str) -> dict[str, str]:
    """Each fact's lane: its kind, its first person (or group), or its case:
    the facts joined by the people and groups they share."""
    if by == "kind":
        return {f.id: KIND_WORDS.get(f.kind, f.kind) for f in facts}
    people = {
        f.id: [
            p.entity
            for p in sorted(
                f.participants,
                key=lambda p: LEADS.index(p.role) if p.role in LEADS else 99,
            )
            if names.get(p.entity, Named(kind="", name="")).kind in PEOPLE
        ]
        for f in facts
    }

    def name(slug: str) -> str:
        return names[slug].name if slug in names else slug

    if by == "person":
        return {f.id: name(people[f.id][0]) if people[f.id] else "" for f in facts}
    parent: dict[str, str] = {}

    def root(a: str) -> str:
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for who in people.values():
        for other in who:
            parent[root(other)] = root(who[0])
    members: dict[str, list[str]] = {}
    for slug in parent:
        members.setdefault(root(slug), []).append(slug)
    counts: dict[str, int] = {}
    for who in people.values():
        for slug in who:
            counts[slug] = counts.get(slug, 0) + 1
    titles = {}
    for group_root, group in members.items():
        leading = sorted(group, key=lambda s: (-counts.get(s, 0), name(s)))[:2]
        more = " and others" if len(group) > 2 else ""
        titles[group_root] = "Case of " + ", ".join(map(name, leading)) + more
    return {f.id: titles[root(people[f.id][0])] if people[f.id] else "" for f in facts}


def _lane_order(by: str) -> Callable[[str], tuple[bool, int, str]]:
    kinds = [KIND_WORDS[k] for k in FACT_KINDS]

    def key(lane: str) -> tuple[bool, int, str]:
        if by == "kind":
            return (False, kinds.index(lane) if lane in kinds else 99, lane)
        return (lane == "", 0, lane)  # facts with nobody last

    return key


def _domain(days: list[int], as_of: Day | None) -> tuple[int, int]:
    """The days to draw: all but far outliers (beyond Tukey's fences at 3 IQR,
    or 30 years), which are cut at the edge, so that one date in year
    170000002 does not squash the rest."""
    if not days:
        days = [as_of.ordinal() if as_of else 0]
    ordered = sorted(days)
    q1, q3 = ordered[len(ordered) // 4], ordered[(3 * len(ordered)) // 4]
    reach = 3 * max(q3 - q1, 3650)
    inside = [d for d in ordered if q1 - reach <= d <= q3 + reach]
    low, high = inside[0], inside[-1]  # the farthest days that are no outliers
    if as_of is not None:
        low, high = min(low, as_of.ordinal()), max(high, as_of.ordinal())
    return low, max(high, low + 1)


def _step(years: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if years / step <= 12:
            return step
    return int(10 ** len(str(years // 12)))
