"""Every level 0 and level 1 feature of the Library of Congress EDTF
specification (2019), with the specification's own examples.

https://www.loc.gov/standards/datetime/ -- each case gives the bounds khronika
derives (its semantics are in `khronika.domain.edtf`) and new input
(`check`) accepts every example.
"""

from __future__ import annotations

import pytest

from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.domain.edtf import Bounds, check, describe, parse

D = Day
OPEN = (OPEN_START, OPEN_END)

# feature, example, earliest, latest, approximate, uncertain
# fmt: off
LEVEL_0 = [
    ("date", "1985-04-12", D(1985, 4, 12), D(1985, 4, 12), False, False),
    ("date, reduced precision", "1985-04", D(1985, 4, 1), D(1985, 4, 30), False, False),
    ("date, reduced precision", "1985", D(1985, 1, 1), D(1985, 12, 31), False, False),
    ("date and time, local", "1985-04-12T23:20:30", D(1985, 4, 12), D(1985, 4, 12), False, False),
    ("date and time, UTC", "1985-04-12T23:20:30Z", D(1985, 4, 12), D(1985, 4, 12), False, False),
    ("date and time, shift in hours", "1985-04-12T23:20:30-04", D(1985, 4, 12), D(1985, 4, 12), False, False),
    ("date and time, shift in hours and minutes", "1985-04-12T23:20:30+04:30", D(1985, 4, 12), D(1985, 4, 12), False, False),
    ("interval", "1964/2008", D(1964, 1, 1), D(2008, 12, 31), False, False),
    ("interval", "2004-06/2006-08", D(2004, 6, 1), D(2006, 8, 31), False, False),
    ("interval", "2004-02-01/2005-02-08", D(2004, 2, 1), D(2005, 2, 8), False, False),
    ("interval", "2004-02-01/2005-02", D(2004, 2, 1), D(2005, 2, 28), False, False),
    ("interval", "2004-02-01/2005", D(2004, 2, 1), D(2005, 12, 31), False, False),
    ("interval", "2005/2006-02", D(2005, 1, 1), D(2006, 2, 28), False, False),
    ("year zero (1 BCE)", "0000", D(0, 1, 1), D(0, 12, 31), False, False),
]
LEVEL_1 = [
    ("letter-prefixed calendar year", "Y170000002", D(170000002, 1, 1), D(170000002, 12, 31), False, False),
    ("letter-prefixed calendar year", "Y-170000002", D(-170000002, 1, 1), D(-170000002, 12, 31), False, False),
    ("letter-prefixed calendar year", "Y-200000", D(-200000, 1, 1), D(-200000, 12, 31), False, False),
    ("season", "2001-21", D(2001, 3, 1), D(2001, 5, 31), False, False),
    ("season", "2001-22", D(2001, 6, 1), D(2001, 8, 31), False, False),
    ("season", "2001-23", D(2001, 9, 1), D(2001, 11, 30), False, False),
    ("season", "2001-24", D(2001, 12, 1), D(2002, 2, 28), False, False),
    ("season, winter into year 10000", "9999-24", D(9999, 12, 1), D(10000, 2, 29), False, False),
    ("qualification: uncertain", "1984?", D(1984, 1, 1), D(1984, 12, 31), False, True),
    ("qualification: approximate", "2004-06~", D(2004, 5, 1), D(2004, 7, 31), True, False),
    ("qualification: uncertain and approximate", "2004-06-11%", D(2004, 6, 10), D(2004, 6, 12), True, True),
    ("unspecified digits", "201X", D(2010, 1, 1), D(2019, 12, 31), False, False),
    ("unspecified digits", "20XX", D(2000, 1, 1), D(2099, 12, 31), False, False),
    ("unspecified digits", "2004-XX", D(2004, 1, 1), D(2004, 12, 31), False, False),
    ("unspecified digits", "1985-04-XX", D(1985, 4, 1), D(1985, 4, 30), False, False),
    ("unspecified digits", "1985-XX-XX", D(1985, 1, 1), D(1985, 12, 31), False, False),
    ("interval, open end", "1985-04-12/..", D(1985, 4, 12), OPEN_END, False, False),
    ("interval, open end", "1985-04/..", D(1985, 4, 1), OPEN_END, False, False),
    ("interval, open end", "1985/..", D(1985, 1, 1), OPEN_END, False, False),
    ("interval, open start", "../1985-04-12", OPEN_START, D(1985, 4, 12), False, False),
    ("interval, open start", "../1985-04", OPEN_START, D(1985, 4, 30), False, False),
    ("interval, open start", "../1985", OPEN_START, D(1985, 12, 31), False, False),
    ("interval, unknown end", "1985-04-12/", D(1985, 4, 12), OPEN_END, False, False),
    ("interval, unknown end", "1985-04/", D(1985, 4, 1), OPEN_END, False, False),
    ("interval, unknown end", "1985/", D(1985, 1, 1), OPEN_END, False, False),
    ("interval, unknown start", "/1985-04-12", OPEN_START, D(1985, 4, 12), False, False),
    ("interval, unknown start", "/1985-04", OPEN_START, D(1985, 4, 30), False, False),
    ("interval, unknown start", "/1985", OPEN_START, D(1985, 12, 31), False, False),
    ("interval, qualified ends", "1984~/2004-06", D(1983, 1, 1), D(2004, 6, 30), True, False),
    ("interval, qualified ends", "1984/2004-06~", D(1984, 1, 1), D(2004, 7, 31), True, False),
    ("interval, qualified ends", "1984~/2004~", D(1983, 1, 1), D(2005, 12, 31), True, False),
    ("interval, qualified ends", "1984?/2004%", D(1984, 1, 1), D(2005, 12, 31), True, True),
    ("interval, qualified ends", "1984-06?/2004-08?", D(1984, 6, 1), D(2004, 8, 31), False, True),
    ("interval, qualified ends", "1984-08-22/2004-08-08~", D(1984, 8, 22), D(2004, 8, 9), True, False),
    ("interval, qualified ends", "1984-06-02?/", D(1984, 6, 2), OPEN_END, False, True),
    ("interval, qualified ends", "1984-06-02?/..", D(1984, 6, 2), OPEN_END, False, True),
    ("interval, qualified ends", "../1984-06-02%", OPEN_START, D(1984, 6, 3), True, True),
    ("negative calendar year", "-1985", D(-1985, 1, 1), D(-1985, 12, 31), False, False),
    ("negative calendar year, with a day", "-0044-03-15", D(-44, 3, 15), D(-44, 3, 15), False, False),
]
# fmt: on
CASES = [pytest.param(*case[1:], id=f"{case[0]}: {case[1]}") for case in LEVEL_0 + LEVEL_1]


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "approximate", "uncertain"), CASES
)
def test_every_specification_example_has_its_bounds(
    text: str, earliest: Day, latest: Day, approximate: bool, uncertain: bool
) -> None:
    expected = Bounds(earliest, latest, approximate, uncertain)
    assert parse(text) == expected
    if "T" not in text or "/" not in text:
        assert check(text) == expected
    assert describe(text)


def test_both_levels_cover_every_feature_of_the_specification() -> None:
    features = {case[0].split(",")[0].split(":")[0] for case in LEVEL_0 + LEVEL_1}
    assert features >= {
        "date", "date and time", "interval", "letter-prefixed calendar year",
        "season", "qualification", "unspecified digits", "negative calendar year",
    }  # fmt: skip


def test_bounds_of_every_example_order_as_days_and_as_keys() -> None:
    spans = sorted((parse(c[1]).earliest, c[1]) for c in LEVEL_0 + LEVEL_1)
    keys = sorted((parse(c[1]).earliest.key(), c[1]) for c in LEVEL_0 + LEVEL_1)
    assert [text for _, text in spans] == [text for _, text in keys]
    order = [t for _, t in spans if not t.startswith(("../", "/"))]
    assert order[:5] == ["Y-170000002", "Y-200000", "-1985", "-0044-03-15", "0000"]
    assert order[-2:] == ["9999-24", "Y170000002"]


def test_labels_of_years_outside_0001_to_9999() -> None:
    assert describe("Y170000002") == "year 170000002"
    assert describe("Y-170000002") == "year -170000002"
    assert describe("-1985") == "-1985"
    assert describe("0000") == "0000"
    assert describe("9999-24") == "winter 9999/10000"
    assert describe("-198X") == "-1989 to -1980"
