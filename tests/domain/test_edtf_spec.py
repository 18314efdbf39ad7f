# ruff: noqa: E501  (the specification's examples read best one per line)
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
S, E = OPEN_START, OPEN_END

# feature, example, earliest, latest, qualifiers found ("~" approximate, "?"
# uncertain)
LEVEL_0 = [
    ("date", "1985-04-12", D(1985, 4, 12), D(1985, 4, 12), ""),
    ("date, reduced precision", "1985-04", D(1985, 4, 1), D(1985, 4, 30), ""),
    ("date, reduced precision", "1985", D(1985, 1, 1), D(1985, 12, 31), ""),
    ("date and time, local", "1985-04-12T23:20:30", D(1985, 4, 12), D(1985, 4, 12), ""),
    ("date and time, UTC", "1985-04-12T23:20:30Z", D(1985, 4, 12), D(1985, 4, 12), ""),
    (
        "date and time, shift",
        "1985-04-12T23:20:30-04",
        D(1985, 4, 12),
        D(1985, 4, 12),
        "",
    ),
    (
        "date and time, shift",
        "1985-04-12T23:20:30+04:30",
        D(1985, 4, 12),
        D(1985, 4, 12),
        "",
    ),
    ("interval", "1964/2008", D(1964, 1, 1), D(2008, 12, 31), ""),
    ("interval", "2004-06/2006-08", D(2004, 6, 1), D(2006, 8, 31), ""),
    ("interval", "2004-02-01/2005-02-08", D(2004, 2, 1), D(2005, 2, 8), ""),
    ("interval", "2004-02-01/2005-02", D(2004, 2, 1), D(2005, 2, 28), ""),
    ("interval", "2004-02-01/2005", D(2004, 2, 1), D(2005, 12, 31), ""),
    ("interval", "2005/2006-02", D(2005, 1, 1), D(2006, 2, 28), ""),
    ("year zero (1 BCE)", "0000", D(0, 1, 1), D(0, 12, 31), ""),
]
LEVEL_1 = [
    ("letter-prefixed calendar year", "Y170000002", D(170000002, 1, 1), D(170000002, 12, 31), ""),
    ("letter-prefixed calendar year", "Y-170000002", D(-170000002, 1, 1), D(-170000002, 12, 31), ""),
    ("letter-prefixed calendar year", "Y-200000", D(-200000, 1, 1), D(-200000, 12, 31), ""),
    ("season", "2001-21", D(2001, 3, 1), D(2001, 5, 31), ""),
    ("season", "2001-22", D(2001, 6, 1), D(2001, 8, 31), ""),
    ("season", "2001-23", D(2001, 9, 1), D(2001, 11, 30), ""),
    ("season", "2001-24", D(2001, 12, 1), D(2002, 2, 28), ""),
    ("season, winter into 10000", "9999-24", D(9999, 12, 1), D(10000, 2, 29), ""),
    ("qualification: uncertain", "1984?", D(1984, 1, 1), D(1984, 12, 31), "?"),
    ("qualification: approximate", "2004-06~", D(2004, 5, 1), D(2004, 7, 31), "~"),
    ("qualification: both", "2004-06-11%", D(2004, 6, 10), D(2004, 6, 12), "~?"),
    ("unspecified digits", "201X", D(2010, 1, 1), D(2019, 12, 31), ""),
    ("unspecified digits", "20XX", D(2000, 1, 1), D(2099, 12, 31), ""),
    ("unspecified digits", "2004-XX", D(2004, 1, 1), D(2004, 12, 31), ""),
    ("unspecified digits", "1985-04-XX", D(1985, 4, 1), D(1985, 4, 30), ""),
    ("unspecified digits", "1985-XX-XX", D(1985, 1, 1), D(1985, 12, 31), ""),
    ("interval, open end", "1985-04-12/..", D(1985, 4, 12), E, ""),
    ("interval, open end", "1985-04/..", D(1985, 4, 1), E, ""),
    ("interval, open end", "1985/..", D(1985, 1, 1), E, ""),
    ("interval, open start", "../1985-04-12", S, D(1985, 4, 12), ""),
    ("interval, open start", "../1985-04", S, D(1985, 4, 30), ""),
    ("interval, open start", "../1985", S, D(1985, 12, 31), ""),
    ("interval, unknown end", "1985-04-12/", D(1985, 4, 12), E, ""),
    ("interval, unknown end", "1985-04/", D(1985, 4, 1), E, ""),
    ("interval, unknown end", "1985/", D(1985, 1, 1), E, ""),
    ("interval, unknown start", "/1985-04-12", S, D(1985, 4, 12), ""),
    ("interval, unknown start", "/1985-04", S, D(1985, 4, 30), ""),
    ("interval, unknown start", "/1985", S, D(1985, 12, 31), ""),
    ("interval, qualified", "1984~/2004-06", D(1983, 1, 1), D(2004, 6, 30), "~"),
    ("interval, qualified", "1984/2004-06~", D(1984, 1, 1), D(2004, 7, 31), "~"),
    ("interval, qualified", "1984~/2004~", D(1983, 1, 1), D(2005, 12, 31), "~"),
    ("interval, qualified", "1984?/2004%", D(1984, 1, 1), D(2005, 12, 31), "~?"),
    ("interval, qualified", "1984-06?/2004-08?", D(1984, 6, 1), D(2004, 8, 31), "?"),
    ("interval, qualified", "1984-08-22/2004-08-08~", D(1984, 8, 22), D(2004, 8, 9), "~"),
    ("interval, qualified", "1984-06-02?/", D(1984, 6, 2), E, "?"),
    ("interval, qualified", "1984-06-02?/..", D(1984, 6, 2), E, "?"),
    ("interval, qualified", "../1984-06-02%", S, D(1984, 6, 3), "~?"),
    ("negative calendar year", "-1985", D(-1985, 1, 1), D(-1985, 12, 31), ""),
    ("negative calendar year", "-0044-03-15", D(-44, 3, 15), D(-44, 3, 15), ""),
]  # fmt: skip
CASES = [pytest.param(*c[1:], id=f"{c[0]}: {c[1]}") for c in LEVEL_0 + LEVEL_1]


@pytest.mark.parametrize(("text", "earliest", "latest", "qualifiers"), CASES)
def test_every_specification_example_has_its_bounds(
    text: str, earliest: Day, latest: Day, qualifiers: str
) -> None:
    expected = Bounds(earliest, latest, "~" in qualifiers, "?" in qualifiers)
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
