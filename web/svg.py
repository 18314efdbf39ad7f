"""The timeline picture: one bar per fact, from its earliest to latest day.

Certain facts are solid; facts only possible at the as-of day are hatched
and translucent; `~` (approximate) bars have a dashed outline and `?`
(uncertain) ones a question mark; an open end, or one far beyond the other
facts (cut at the picture's edge), fades out toward the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from khronika.domain import edtf
from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.projections.models import Fact

WIDTH, LEFT, RIGHT, ROW, TOP = 1000, 10, 10, 18, 30


@dataclass(frozen=True)
class Bar:
    id: str
    label: str
    x: float
    width: float
    y: int
    classes: str
    title: str


@dataclass(frozen=True)
class Tick:
    x: float
    year: int


@dataclass(frozen=True)
class Picture:
    bars: list[Bar]
    ticks: list[Tick]
    as_of: float | None
    height: int
    years: tuple[int, int]  # the first and last year drawn
    width: int = WIDTH


def picture(facts: list[Fact], as_of: Day | None) -> Picture:
    spans = [(f, edtf.parse(f.when.edtf)) for f in facts]
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

    def x(day: Day, edge: int) -> float:
        if day in (OPEN_START, OPEN_END):
            return float(edge)
        return min(max(LEFT + (day.ordinal() - low) * scale, LEFT), WIDTH - RIGHT)

    bars = []
    for i, (f, b) in enumerate(spans):
        x0, x1 = x(b.earliest, LEFT), x(b.latest, WIDTH - RIGHT) + scale
        beyond_start = b.earliest == OPEN_START or b.earliest.ordinal() < low
        beyond_end = b.latest == OPEN_END or b.latest.ordinal() > high
        classes = [f.status or "certain"]
        classes += ["approximate"] * b.approximate + ["uncertain"] * b.uncertain
        classes += ["open-start"] * beyond_start + ["open-end"] * beyond_end
        bars.append(
            Bar(
                f.id,
                f.when.label,
                round(x0, 1),
                round(max(x1 - x0, 3), 1),
                TOP + i * ROW,
                " ".join(classes),
                f"{f.when.label} · {f.kind} · {f.status}: {f.summary}",
            )
        )
    first, last = Day.from_ordinal(low).year, Day.from_ordinal(high).year
    step = _step(last - first)
    ticks = [
        Tick(round(x(Day(y, 1, 1), LEFT), 1), y)
        for y in range(first - first % step + step, last + 1, step)
    ]
    mark = round(x(as_of, 0), 1) if as_of is not None else None
    return Picture(bars, ticks, mark, TOP + len(bars) * ROW + 10, (first, last))


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
