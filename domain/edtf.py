"""EDTF dates (levels 0 and 1): the earliest and latest day a date can mean.

Supported: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDThh:mm:ss with an optional Z or
±hh[:mm], seasons YYYY-21..24, unspecified trailing digits (201X, 2004-XX,
1985-04-XX), one qualifier ? ~ % at the end of a date, intervals A/B whose
ends may be open ('..') or unknown (''), negative years (-1985, -0044-03-15)
and years of more than four digits written with Y (Y170000002, Y-170000002).
Years are astronomical (0000 is 1 BCE) and run to nine digits either way; days
are `days.Day`, since Python's date stops at 1-9999.

Semantics (decided):
- '?' keeps the bounds and only sets `uncertain`.
- '~' widens the bounds by one unit of the precision written: a year by a year,
  a month by a month, a season by three months, a day (or date-time) by a day,
  on each side; '%' is '~' and '?' together. X digits do not change the unit
  (201X~ is 2009..2020). Widened bounds are clamped to the open ends.
- Seasons are meteorological (northern): spring Mar-May, summer Jun-Aug,
  autumn Sep-Nov, winter YYYY-24 from Dec 1 of YYYY to the end of February of
  YYYY+1 (9999-24 runs into 10000).
- X may only stand for trailing digits (after the first X every digit is X)
  and the first year digit must be given. A month 0X is January-September, 1X
  is October-December; a day 1X is the 10th-19th. In a negative year X
  still stands for the trailing digits: -198X is -1989 to -1980.
- A date-time is bounded by its calendar day as written (no zone conversion).
- Open ('..') and unknown ('') interval ends both give OPEN_START/OPEN_END, but
  at least one end must be a date ('../..' and '/' are rejected). An interval is
  reversed when its end's latest day (before '~' widening) is before its
  start's earliest day.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import msgspec

from khronika.domain.days import MAX_DIGITS, OPEN_END, OPEN_START, Day, month_days
from khronika.domain.errors import EdtfError

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
SEASONS = {21: "spring", 22: "summer", 23: "autumn", 24: "winter"}

_DATE = re.compile(
    r"(?P<y>-?[\dX]{4})(?:-(?P<m>[\dX]{2})(?:-(?P<d>[\dX]{2}))?)?(?P<q>[?~%])?",
    re.ASCII,
)
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|[+-](\d{2})(?::(\d{2}))?)?",
    re.ASCII,
)
_TRAILING_X = re.compile(r"\d*X*", re.ASCII)
_Y_YEAR = re.compile(r"Y(-?)(\d+)(?P<q>[?~%])?", re.ASCII)
_LONG_YEAR = re.compile(r"-?\d{5}", re.ASCII)
_LEVEL2 = (
    (re.compile(r"[\[\]{}]"), "sets or lists"),
    (re.compile(r"\dS\d"), "significant digits (S)"),
    (re.compile(r"\dE\d"), "an exponent (E)"),
    (re.compile(r"[?~%](?!/|$)"), "a qualifier inside a date"),
)
_NOT_EDTF = "'{}' is not EDTF; write dates as YYYY, YYYY-MM or YYYY-MM-DD"


class Bounds(msgspec.Struct, frozen=True):
    """The earliest and latest possible day of an EDTF date."""

    earliest: Day
    latest: Day
    approximate: bool = False  # any '~' or '%' present
    uncertain: bool = False  # any '?' or '%' present


class _Part(NamedTuple):
    earliest: Day
    latest: Day
    unit: int  # what '~' widens by, in months; 0 means one day
    qualifier: str
    label: str


class _Invalid(Exception):
    """A problem found while reading; turned into EdtfError with the field."""


@lru_cache(maxsize=4096)  # dates repeat; Bounds are immutable
def parse(text: str, *, field: str = "when") -> Bounds:
    """The bounds of the EDTF date `text`; raises EdtfError naming `field`."""
    ends = _ends(text, field)
    start, end = ends[0], ends[-1]
    qualifiers = "".join(e.qualifier for e in ends if isinstance(e, _Part))
    return Bounds(
        _widen(start)[0] if isinstance(start, _Part) else OPEN_START,
        _widen(end)[1] if isinstance(end, _Part) else OPEN_END,
        approximate="~" in qualifiers or "%" in qualifiers,
        uncertain="?" in qualifiers or "%" in qualifiers,
    )


@lru_cache(maxsize=4096)
def describe(text: str, *, field: str = "when") -> str:
    """A short English label for `text`, e.g. 'about June 2024'."""
    ends = _ends(text, field)
    if len(ends) == 1:
        return _label(ends[0])
    start, end = ends
    if start == "..":
        return f"until {_label(end)}"
    if end == "..":
        return f"from {_label(start)}"
    return f"{_label(start)} – {_label(end)}"


def check(text: str, *, field: str = "when") -> Bounds:
    """`parse` for new input, with the rules stored dates predate.

    Intervals of levels 0 and 1 are of dates, not date-times. Versions before
    this rule accepted a time of day inside an interval; `parse` still reads
    such stored dates (by their calendar days), but new input is refused.
    So is a date with white space around it ('2023 ', a no-break space),
    which `parse` reads but would be stored as written.
    """
    padding = text[: len(text) - len(text.lstrip())] + text[len(text.rstrip()) :]
    if padding and text.strip():
        names = ", ".join(dict.fromkeys(f"U+{ord(c):04X}" for c in padding))
        raise EdtfError(
            field,
            f"'{text.strip()}' has white space around it ({names}); "
            "write the date alone",
        )
    bounds = parse(text, field=field)
    if "/" in text and "T" in text:
        raise EdtfError(
            field,
            f"interval '{text.strip()}' has a time of day; EDTF intervals (levels "
            "0 and 1) are of dates: write the days, as in 2004-02-01/2005-02",
        )
    return bounds


def is_valid(text: str) -> bool:
    """Whether `text` is EDTF this module accepts."""
    try:
        parse(text)
    except EdtfError:
        return False
    return True


def _ends(text: str, field: str) -> list[_Part | str]:
    """The parsed date, or an interval's two ends ('..' or '' when not a date)."""
    s = text.strip()
    try:
        if not s:
            raise _Invalid("'' is empty")
        for pattern, feature in _LEVEL2:
            if pattern.search(s):
                raise _Invalid(
                    f"'{s}' uses {feature}, which is level 2 EDTF; "
                    "only levels 0 and 1 are supported"
                )
        if "/" not in s:
            if s == "..":
                raise _Invalid(
                    "'..' is only allowed as an interval end, "
                    "as in '../1985' or '1985/..'"
                )
            return [_part(s)]
        if s.count("/") > 1:
            raise _Invalid(_NOT_EDTF.format(s))
        ends = [e if e in ("", "..") else _part(e) for e in s.split("/")]
        start, end = ends
        if isinstance(start, str) and isinstance(end, str):
            raise _Invalid(
                f"interval '{s}' has no date at either end; give at least one"
            )
        if isinstance(start, _Part) and isinstance(end, _Part):
            if end.latest < start.earliest:
                raise _Invalid(f"interval '{s}' ends before it starts")
        return ends
    except _Invalid as exc:
        raise EdtfError(field, str(exc)) from None


def _part(s: str) -> _Part:
    """One date (not an interval)."""
    if s.startswith("Y"):
        return _y_year(s)
    if _LONG_YEAR.match(s):
        raise _Invalid(f"'{s}' has a year of more than four digits; write it Y{s}")
    if "T" in s:
        return _datetime(s)
    match = _DATE.fullmatch(s)
    if match is None:
        raise _Invalid(_NOT_EDTF.format(s))
    y, mo, d, q = match["y"], match["m"], match["d"], match["q"] or ""
    digits = y.lstrip("-") + (mo or "") + (d or "")
    if not _TRAILING_X.fullmatch(digits):
        raise _Invalid(
            f"'{s}' has a digit after an X; only trailing digits may be "
            "unspecified (as in 201X, 2004-XX, 1985-04-XX)"
        )
    if digits.startswith("X"):
        raise _Invalid(f"'{s}' leaves the whole year unspecified; give its first digit")
    if y == "-0000":
        raise _Invalid(f"'{s}' has year -0000; year zero is 0000")
    y_lo, y_hi = _span(y)
    if mo is None:
        return _Part(Day(y_lo, 1, 1), Day(y_hi, 12, 31), 12, q, _year_label(y))
    if "X" not in mo and 21 <= int(mo) <= 41:
        return _season(s, y_lo, int(mo), d is not None, q)
    m_lo, m_hi = _span(mo)
    m_lo, m_hi = max(m_lo, 1), min(m_hi, 12)
    if m_lo > m_hi:
        raise _Invalid(f"'{s}' has month {mo}; months run 01-12 and seasons 21-24")
    first = Day(y_lo, m_lo, 1)
    last = Day(y_hi, m_hi, month_days(y_hi, m_hi))
    month = _month_label(y, mo, m_lo, m_hi)
    if d is None:
        return _Part(first, last, 1, q, month)
    if "X" in y + mo:  # the day is XX too
        return _Part(first, last, 0, q, month)
    days = last.day
    if d == "00":
        raise _Invalid(f"'{s}' has day 00; days run 01-{days}")
    d_lo, d_hi = _span(d)
    d_lo, d_hi = max(d_lo, 1), min(d_hi, days)
    if d_lo > d_hi:
        problem = "has no possible day" if "X" in d else "is not a real day"
        raise _Invalid(f"'{s}' {problem} ({month} has {days} days)")
    if d == "XX":
        label = f"{month} (day unknown)"
    elif "X" in d:
        label = f"{month} (days {d_lo}–{d_hi})"
    else:
        label = f"{y}-{mo}-{d}"
    return _Part(first._replace(day=d_lo), last._replace(day=d_hi), 0, q, label)


def _y_year(s: str) -> _Part:
    """A year written with Y: more than four digits, a year only."""
    match = _Y_YEAR.fullmatch(s)
    if match is None:
        raise _Invalid(
            f"'{s}' is not an EDTF Y year; write Y and more than four digits, "
            "as in Y170000002 or Y-170000002 (a year only, no month or day)"
        )
    sign, digits, q = match[1], match[2], match["q"] or ""
    if len(digits) <= 4:
        raise _Invalid(
            f"'{s}': Y is for years of more than four digits; write {sign}{digits}"
        )
    if len(digits) > MAX_DIGITS or digits.startswith("0"):
        raise _Invalid(
            f"'{s}' is outside the years this tool handles "
            f"(at most {MAX_DIGITS} digits, no leading zero)"
        )
    year = int(sign + digits)
    return _Part(Day(year, 1, 1), Day(year, 12, 31), 12, q, f"year {year}")


def _season(s: str, year: int, code: int, has_day: bool, q: str) -> _Part:
    if code > 24:
        raise _Invalid(
            f"'{s}' is a level 2 season code; only 21-24 "
            "(spring, summer, autumn, winter) are supported"
        )
    if has_day:
        raise _Invalid(f"'{s}' gives a day in a season; write seasons as YYYY-21")
    start = Day(year, (code - 20) * 3, 1)
    label = f"{SEASONS[code]} {year}"
    if code == 24:  # winter 2023/24, winter 1999/2000
        following = year + 1
        same_century = following // 100 == year // 100
        label += f"/{following % 100:02d}" if same_century else f"/{following}"
    return _Part(start, _shift_months(start, 2, end=True), 3, q, label)


def _datetime(s: str) -> _Part:
    match = _DATETIME.fullmatch(s)
    if match is None:
        if s[-1] in "?~%":
            raise _Invalid(f"'{s}': qualifiers apply to dates, not date-times")
        raise _Invalid(
            f"'{s}' is not an EDTF date-time; write YYYY-MM-DDThh:mm:ss, "
            "optionally followed by Z or ±hh:mm"
        )
    day = _part(match[1])
    hh, mm, ss = match[2], match[3], match[4]
    if int(hh) > 23 or int(mm) > 59 or int(ss) > 59:
        raise _Invalid(f"'{s}' has time {hh}:{mm}:{ss}; times run 00:00:00-23:59:59")
    if match[6] and (int(match[6]) > 23 or int(match[7] or 0) > 59):
        raise _Invalid(f"'{s}' has offset {match[5]}; offsets run -23:59 to +23:59")
    return day._replace(label=s.replace("T", " "))


def _span(digits: str) -> tuple[int, int]:
    """The smallest and largest number the digits (X unspecified) can be."""
    low, high = int(digits.replace("X", "0")), int(digits.replace("X", "9"))
    return (high, low) if digits.startswith("-") else (low, high)


def _year_label(y: str) -> str:
    lo, hi = _span(y)
    unknown = y.count("X")
    if unknown == 0:
        return str(lo) if lo > 0 else y
    if lo < 0 or unknown == 3:  # -198X, 1XXX
        return f"{lo} to {hi}" if lo < 0 else f"{lo}–{hi}"
    return f"{lo}s"  # 2010s, 1900s


def _month_label(y: str, mo: str, lo: int, hi: int) -> str:
    year = _year_label(y)
    if "X" in y:
        return year
    if mo == "XX":
        return f"{year} (month unknown)"
    if "X" in mo:
        return f"{year} ({MONTHS[lo - 1]}–{MONTHS[hi - 1]})"
    return f"{MONTHS[lo - 1]} {year}"


def _label(end: _Part | str) -> str:
    if not isinstance(end, _Part):
        return "?"
    return {
        "": end.label,
        "?": f"{end.label}?",
        "~": f"about {end.label}",
        "%": f"about {end.label}?",
    }[end.qualifier]


def _widen(part: _Part) -> tuple[Day, Day]:
    """The bounds, widened by one unit on each side for '~' and '%'."""
    if part.qualifier not in ("~", "%"):
        return part.earliest, part.latest
    if part.unit == 0:
        return part.earliest.plus_days(-1), part.latest.plus_days(1)
    return (
        _shift_months(part.earliest, -part.unit, end=False),
        _shift_months(part.latest, part.unit, end=True),
    )


def _shift_months(day: Day, months: int, *, end: bool) -> Day:
    """The first (or, with `end`, last) day of the month `months` after `day`'s."""
    moved = day._replace(day=1).plus_months(months)
    return moved._replace(day=month_days(moved.year, moved.month)) if end else moved
