"""Days of the proleptic Gregorian calendar, for any year EDTF can write.

Years are astronomical: 0 is 1 BCE, -1985 is 1986 BCE. Python's `date` stops
at 1-9999, so a day here is a (year, month, day) tuple, which orders as days
do. OPEN_START and OPEN_END lie beyond every year that can be written.

In the views a day is stored as a key that sorts as text (byte by byte) in
day order. Years 0000-9999 keep plain ISO (`1985-04-12`), so the usual dates
read as they are; other years take a prefix that makes them sort:

- a year after 9999: `Y`, the number of its digits, the digits
  (`Y9170000002-01-01` is the first day of year 170000002);
- a year before 0: `-`, 9 minus the number of its digits, each digit
  subtracted from 9 (`-58014-01-01` is 1 January -1985);
- the open ends: `-..` before every day and `~..` after every day.
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

MAX_DIGITS = 9  # years run -999999999 to 999999999
OPEN_START_KEY = "-.."
OPEN_END_KEY = "~.."


class Day(NamedTuple):
    year: int
    month: int
    day: int

    @classmethod
    def of(cls, d: date) -> Day:
        return cls(d.year, d.month, d.day)

    @classmethod
    def today(cls) -> Day:
        return cls.of(date.today())

    def key(self) -> str:
        """The text that sorts, as text, in day order (see the module)."""
        if self.year <= -_LIMIT:
            return OPEN_START_KEY
        if self.year >= _LIMIT:
            return OPEN_END_KEY
        rest = f"-{self.month:02d}-{self.day:02d}"
        if 0 <= self.year <= 9999:
            return f"{self.year:04d}{rest}"
        digits = str(abs(self.year))
        if self.year > 0:
            return f"Y{len(digits)}{digits}{rest}"
        flipped = "".join(str(9 - int(c)) for c in digits)
        return f"-{MAX_DIGITS - len(digits)}{flipped}{rest}"

    def isoformat(self) -> str:
        """For people: `1985-04-12`, `-1985-04-12`, `Y170000002-01-01`, `..`."""
        if abs(self.year) >= _LIMIT:
            return ".."
        rest = f"-{self.month:02d}-{self.day:02d}"
        if -9999 <= self.year <= 9999:
            sign = "-" if self.year < 0 else ""
            return f"{sign}{abs(self.year):04d}{rest}"
        return f"Y{self.year}{rest}"

    def __str__(self) -> str:
        return self.isoformat()

    def ordinal(self) -> int:
        """Days since 1970-01-01 (negative before it)."""
        y = self.year - (self.month <= 2)
        era = y // 400
        yoe = y - era * 400
        doy = (153 * ((self.month + 9) % 12) + 2) // 5 + self.day - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        return era * 146097 + doe - 719468

    @classmethod
    def from_ordinal(cls, n: int) -> Day:
        z = n + 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        return _clamp(cls(yoe + era * 400 + (month <= 2), month, day))

    def plus_days(self, days: int) -> Day:
        return Day.from_ordinal(self.ordinal() + days)

    def plus_months(self, months: int) -> Day:
        """The same day of the month `months` later, or that month's last."""
        year, month = divmod(self.year * 12 + self.month - 1 + months, 12)
        return _clamp(Day(year, month + 1, min(self.day, month_days(year, month + 1))))


def month_days(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def from_key(key: str) -> Day:
    """The day a views key stands for (the inverse of `Day.key`)."""
    if key == OPEN_START_KEY:
        return OPEN_START
    if key == OPEN_END_KEY:
        return OPEN_END
    head, month, day = key.rsplit("-", 2)
    if head.startswith("Y"):
        year = int(head[2:])
    elif head.startswith("-"):
        year = -int("".join(str(9 - int(c)) for c in head[2:]))
    else:
        year = int(head)
    return Day(year, int(month), int(day))


def year_of_key(key: str) -> int | None:
    """The year of a views key, or of its first four characters; None if open."""
    if len(key) == 4:
        return int(key)
    if key in (OPEN_START_KEY, OPEN_END_KEY):
        return None
    return from_key(key).year


def shown(key: str) -> str:
    """A views key as people read it (`Day.isoformat`)."""
    return key if key[:1].isdigit() else from_key(key).isoformat()


def _clamp(day: Day) -> Day:
    """Days past the nine-digit years are the open ends."""
    if day.year <= -_LIMIT:
        return OPEN_START
    return OPEN_END if day.year >= _LIMIT else day


_LIMIT = 10**MAX_DIGITS
OPEN_START = Day(-_LIMIT, 1, 1)
OPEN_END = Day(_LIMIT, 12, 31)
