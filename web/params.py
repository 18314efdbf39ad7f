"""Query parameters: each endpoint declares its own; any other is set aside.

A parameter an endpoint does not declare (`utm_source`, `fbclid`, one a
browser or a link shortener added) is ignored, never refused: the API names
it in the `Khronika-Ignored` header, so a typo (`as-of`) does not pass
unseen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from khronika.domain.days import Day
from khronika.domain.errors import ValidationError
from khronika.domain.parse import MAX_COUNT
from khronika.domain.text import check_line, check_text
from khronika.projections import points
from khronika.projections.queries import Point

TODAY = {"person", "stats"}  # answers judged on today's date without as_of
MAX_TEXT = 300
MAX_NOTE = 4000


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "string", "integer" or "boolean"
    description: str
    many: bool = False
    choices: tuple[str, ...] = ()
    example: str | None = None
    lines: bool = False  # may hold line breaks (a checkpoint note)
    low: int | None = None  # an integer's least value
    high: int | None = None  # and its greatest
    pattern: str | None = None  # what a string looks like (ECMA-262, for OpenAPI)
    format: str | None = None  # OpenAPI's name for it (date-time, edtf, …)
    required: bool = False


# An ISO 8601 date, or a date and time with an optional offset: what
# `points.record_time` reads (it also refuses days that do not exist, such
# as 2026-02-30). Empty, as every parameter may be, means not given.
RECORD_TIME = (
    r"^$|^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])?)?$"
)


POINT = (
    Param(
        "as_of",
        "string",
        "World time: an EDTF date; only what could have "
        "happened by its last day (2023 means 2023-12-31).",
        example="2023",
        format="edtf",
    ),
    Param(
        "known_at",
        "string",
        "Record time: ISO 8601, UTC unless it says "
        "otherwise; the record exactly as it stood then (a date means its end).",
        example="2026-01-01T00:00:00Z",
        pattern=RECORD_TIME,
    ),
    Param(
        "certain",
        "boolean",
        "With as_of, leave out facts that only possibly happened by then.",
    ),
)


def with_point(params: Sequence[Param]) -> tuple[Param, ...]:
    """`params` and the three time parameters, each once: what a page takes,
    so that every link carries the place on both axes."""
    names = {p.name for p in params}
    return (*(p for p in POINT if p.name not in names), *params)


class Query:
    """The query string of one request, checked against the declared params."""

    def __init__(
        self, multi: Sequence[tuple[str, str]], declared: Sequence[Param]
    ) -> None:
        self.declared = {p.name: p for p in declared}
        self.values: dict[str, list[str]] = {}
        self.ignored: list[str] = []  # undeclared names, in order, once each
        for name, value in multi:
            if name in self.declared:
                self.values.setdefault(name, []).append(value)
            elif name not in self.ignored:
                self.ignored.append(name)
        for name, values in self.values.items():
            if len(values) > 1 and not self.declared[name].many:
                raise ValidationError(name, "is given more than once")
            for value in values:
                if self.declared[name].lines:
                    check_text(name, value, MAX_NOTE)
                else:
                    check_line(name, value, MAX_TEXT, required=False)

    def text(self, name: str) -> str | None:
        values = self.many(name)
        return values[0] if values else None

    def many(self, name: str) -> list[str]:
        """The parameter's values; an empty one counts as not given, unless
        the parameter is an enum, whose values are never empty."""
        values = [v.strip() for v in self.values.get(name, [])]
        if values and self.declared[name].choices:
            return [self._choose(name, value) for value in values]
        return [value for value in values if value]

    def _choose(self, name: str, value: str) -> str:
        choices = self.declared[name].choices
        if choices and value not in choices:
            listed = ", ".join(choices)
            raise ValidationError(name, f"'{value}' is not one of: {listed}")
        return value

    def flag(self, name: str) -> bool:
        value = (self.text(name) or "false").lower()
        if value not in ("true", "false", "1", "0", "on"):
            raise ValidationError(name, f"'{value}' is not true or false")
        return value in ("true", "1", "on")

    def integer(
        self, name: str, default: int, low: int = 1, high: int = MAX_COUNT
    ) -> int:
        value = self.text(name)
        if value is None:
            return default
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise ValidationError(
                name, f"'{value}' is not a whole number from {low} to {high}"
            )
        return int(value)

    def day(self, name: str, *, first: bool = False) -> Day | None:
        value = self.text(name)
        return None if value is None else points.world_day(value, name, first=first)

    def world_fixed(self, name: str) -> bool:
        """Whether answer `name` is fixed in world time: it does not judge by
        today's date, or `as_of` was given. A person's status and the years of
        statistics are judged on today without `as_of`."""
        return name not in TODAY or self.text("as_of") is not None

    def point(self) -> Point:
        known_at = self.text("known_at")
        return Point(
            as_of=self.day("as_of"),
            known_at=None if known_at is None else points.record_time(known_at),
            certain=self.flag("certain"),
        )
