"""Tests for EDTF (levels 0 and 1) parsing into day bounds and labels."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from khronika.domain.days import OPEN_END, OPEN_START, Day
from khronika.domain.edtf import (
    Bounds,
    check,
    describe,
    is_valid,
    parse,
)
from khronika.domain.errors import EdtfError, ValidationError

D = Day


def bounds(text: str) -> tuple[Day, Day]:
    b = parse(text)
    return b.earliest, b.latest


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2024", D(2024, 1, 1), D(2024, 12, 31)),
        ("0001", D(1, 1, 1), D(1, 12, 31)),
        ("9999", D(9999, 1, 1), D(9999, 12, 31)),
        ("2024-06", D(2024, 6, 1), D(2024, 6, 30)),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        ("2023-02", D(2023, 2, 1), D(2023, 2, 28)),
        ("2024-12", D(2024, 12, 1), D(2024, 12, 31)),
        ("2024-06-06", D(2024, 6, 6), D(2024, 6, 6)),
        ("2024-02-29", D(2024, 2, 29), D(2024, 2, 29)),
        ("  2024-06  ", D(2024, 6, 1), D(2024, 6, 30)),
    ],
)
def test_level_0_dates_span_their_year_month_or_day(
    text: str, earliest: Day, latest: Day
) -> None:
    assert parse(text) == Bounds(earliest, latest)


@pytest.mark.parametrize(
    "text",
    [
        "2024-06-06T10:15:30",
        "2024-06-06T10:15:30Z",
        "2024-06-06T23:59:59+05:30",
        "2024-06-06T00:00:00-08:00",
        "2024-06-06T10:15:30+02",
    ],
)
def test_date_time_is_bounded_by_its_calendar_day_as_written(text: str) -> None:
    assert parse(text) == Bounds(D(2024, 6, 6), D(2024, 6, 6))


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2004/2006", D(2004, 1, 1), D(2006, 12, 31)),
        ("2004-06/2006-08", D(2004, 6, 1), D(2006, 8, 31)),
        ("2004-02-01/2005-02-08", D(2004, 2, 1), D(2005, 2, 8)),
        ("2004-02-01/2005", D(2004, 2, 1), D(2005, 12, 31)),
        ("2023/2023-06", D(2023, 1, 1), D(2023, 6, 30)),
        ("2024-06-06/2024-06-06", D(2024, 6, 6), D(2024, 6, 6)),
        # stored by an earlier version, which took times inside intervals
        (
            "2004-02-01T10:10:10Z/2005-02-08T09:00:00+01:00",
            D(2004, 2, 1),
            D(2005, 2, 8),
        ),
    ],
)
def test_interval_runs_from_start_earliest_to_end_latest(
    text: str, earliest: Day, latest: Day
) -> None:
    assert bounds(text) == (earliest, latest)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2023-21", D(2023, 3, 1), D(2023, 5, 31)),
        ("2023-22", D(2023, 6, 1), D(2023, 8, 31)),
        ("2023-23", D(2023, 9, 1), D(2023, 11, 30)),
        ("2022-24", D(2022, 12, 1), D(2023, 2, 28)),
    ],
)
def test_seasons_are_meteorological(text: str, earliest: Day, latest: Day) -> None:
    assert bounds(text) == (earliest, latest)


@pytest.mark.parametrize(
    ("text", "latest"),
    [
        ("2023-24", D(2024, 2, 29)),  # 2024 is a leap year
        ("2024-24", D(2025, 2, 28)),
        ("1999-24", D(2000, 2, 29)),
        ("1899-24", D(1900, 2, 28)),  # 1900 is not
    ],
)
def test_winter_runs_into_the_next_year(text: str, latest: Day) -> None:
    year = int(text[:4])
    assert bounds(text) == (D(year, 12, 1), latest)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("2023~", D(2022, 1, 1), D(2024, 12, 31)),
        ("2024-06~", D(2024, 5, 1), D(2024, 7, 31)),
        ("2024-01~", D(2023, 12, 1), D(2024, 2, 29)),
        ("2024-12~", D(2024, 11, 1), D(2025, 1, 31)),
        ("2024-06-06~", D(2024, 6, 5), D(2024, 6, 7)),
        ("2024-03-01~", D(2024, 2, 29), D(2024, 3, 2)),
        ("2023-22~", D(2023, 3, 1), D(2023, 11, 30)),
        ("2023-24~", D(2023, 9, 1), D(2024, 5, 31)),
        ("201X~", D(2009, 1, 1), D(2020, 12, 31)),
        ("1985-04-XX~", D(1985, 3, 31), D(1985, 5, 1)),
    ],
)
def test_approximate_widens_by_one_unit_of_precision(
    text: str, earliest: Day, latest: Day
) -> None:
    b = parse(text)
    assert (b.earliest, b.latest) == (earliest, latest)
    assert b.approximate and not b.uncertain


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("0001~", D(0, 1, 1), D(2, 12, 31)),
        ("0001-01-01~", D(0, 12, 31), D(1, 1, 2)),
        ("0000-01~", D(-1, 12, 1), D(0, 2, 29)),  # year 0 is a leap year
        ("9999~", D(9998, 1, 1), D(10000, 12, 31)),
        ("9999-12-31~", D(9999, 12, 30), D(10000, 1, 1)),
        ("Y999999999~", D(999999998, 1, 1), OPEN_END),
        ("Y-999999999~", OPEN_START, D(-999999998, 12, 31)),
    ],
)
def test_approximate_widening_crosses_year_0_and_9999_and_clamps_at_nine_digits(
    text: str, earliest: Day, latest: Day
) -> None:
    assert bounds(text) == (earliest, latest)


@pytest.mark.parametrize("text", ["2023", "2024-06", "2024-06-06", "2023-24", "201X"])
def test_uncertain_keeps_the_bounds(text: str) -> None:
    b = parse(f"{text}?")
    assert (b.earliest, b.latest) == bounds(text)
    assert b.uncertain and not b.approximate


@pytest.mark.parametrize("text", ["2023", "2024-06", "2024-06-06", "2023-22"])
def test_percent_is_approximate_and_uncertain(text: str) -> None:
    b = parse(f"{text}%")
    assert (b.earliest, b.latest) == bounds(f"{text}~")
    assert b.approximate and b.uncertain


@pytest.mark.parametrize(
    ("text", "earliest", "latest", "approximate", "uncertain"),
    [
        ("2019~/2020?", D(2018, 1, 1), D(2020, 12, 31), True, True),
        ("2019?/2020~", D(2019, 1, 1), D(2021, 12, 31), True, True),
        ("2019-06%/2020", D(2019, 5, 1), D(2020, 12, 31), True, True),
        ("2019/2020-06-01~", D(2019, 1, 1), D(2020, 6, 2), True, False),
        ("../2020?", OPEN_START, D(2020, 12, 31), False, True),
        ("2019~/..", D(2018, 1, 1), OPEN_END, True, False),
    ],
)
def test_qualifiers_apply_to_each_interval_end(
    text: str, earliest: Day, latest: Day, approximate: bool, uncertain: bool
) -> None:
    assert parse(text) == Bounds(earliest, latest, approximate, uncertain)


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("201X", D(2010, 1, 1), D(2019, 12, 31)),
        ("20XX", D(2000, 1, 1), D(2099, 12, 31)),
        ("1XXX", D(1000, 1, 1), D(1999, 12, 31)),
        ("0XXX", D(0, 1, 1), D(999, 12, 31)),  # year 0 is 1 BCE
        ("201X-XX", D(2010, 1, 1), D(2019, 12, 31)),
        ("2004-XX", D(2004, 1, 1), D(2004, 12, 31)),
        ("1985-XX-XX", D(1985, 1, 1), D(1985, 12, 31)),
        ("2004-0X", D(2004, 1, 1), D(2004, 9, 30)),
        ("2004-1X", D(2004, 10, 1), D(2004, 12, 31)),
        ("2004-1X-XX", D(2004, 10, 1), D(2004, 12, 31)),
        ("1985-04-XX", D(1985, 4, 1), D(1985, 4, 30)),
        ("1985-04-0X", D(1985, 4, 1), D(1985, 4, 9)),
        ("1985-04-1X", D(1985, 4, 10), D(1985, 4, 19)),
        ("1985-04-3X", D(1985, 4, 30), D(1985, 4, 30)),
        ("2023-02-2X", D(2023, 2, 20), D(2023, 2, 28)),
    ],
)
def test_unspecified_digits_cover_every_value_they_could_be(
    text: str, earliest: Day, latest: Day
) -> None:
    assert bounds(text) == (earliest, latest)


@pytest.mark.parametrize(
    ("text", "latest"),
    [
        ("2024-02-XX", D(2024, 2, 29)),
        ("2000-02-XX", D(2000, 2, 29)),
        ("2023-02-XX", D(2023, 2, 28)),
        ("1900-02-XX", D(1900, 2, 28)),
    ],
)
def test_unknown_day_in_february_ends_on_its_last_day(text: str, latest: Day) -> None:
    assert parse(text).latest == latest


@pytest.mark.parametrize(
    ("text", "earliest", "latest"),
    [
        ("../1985-04-12", OPEN_START, D(1985, 4, 12)),
        ("1985-04-12/..", D(1985, 4, 12), OPEN_END),
        ("/1985-04-12", OPEN_START, D(1985, 4, 12)),
        ("1985-04-12/", D(1985, 4, 12), OPEN_END),
        ("../1985", OPEN_START, D(1985, 12, 31)),
        ("1985-04/", D(1985, 4, 1), OPEN_END),
        ("../1985-04-12~", OPEN_START, D(1985, 4, 13)),
    ],
)
def test_open_and_unknown_interval_ends_are_unbounded(
    text: str, earliest: Day, latest: Day
) -> None:
    assert bounds(text) == (earliest, latest)


@pytest.mark.parametrize("text", ["../..", "/", "../", "/.."])
def test_interval_without_any_date_is_rejected(text: str) -> None:
    with pytest.raises(EdtfError, match="has no date at either end"):
        parse(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("2024/2023", "interval '2024/2023' ends before it starts"),
        ("2024-06-02/2024-06-01", "ends before it starts"),
        ("2024-06/2024-05-31", "ends before it starts"),
        ("2020~/2019", "ends before it starts"),
        ("2023-02-30", r"'2023-02-30' is not a real day \(February 2023 has 28 days\)"),
        ("2023-02-29", r"is not a real day \(February 2023 has 28 days\)"),
        ("1900-02-29", r"is not a real day \(February 1900 has 28 days\)"),
        ("2023-04-31", r"is not a real day \(April 2023 has 30 days\)"),
        ("2023-01-32", r"is not a real day \(January 2023 has 31 days\)"),
        ("2023-06-00", "'2023-06-00' has day 00; days run 01-30"),
        ("2023-13", "'2023-13' has month 13; months run 01-12 and seasons 21-24"),
        ("2023-00", "'2023-00' has month 00"),
        ("2023-20", "'2023-20' has month 20"),
        ("2023-42", "'2023-42' has month 42"),
        ("2023-2X", "'2023-2X' has month 2X"),
        ("2023-02-3X", r"has no possible day \(February 2023 has 28 days\)"),
        ("2023-25", "'2023-25' is a level 2 season code; only 21-24 "),
        ("2023-41", "is a level 2 season code"),
        ("2023-21-05", "gives a day in a season"),
        ("12023", "'12023' has a year of more than four digits; write it Y12023"),
        ("-12023", "write it Y-12023"),
        ("Y1985", "Y is for years of more than four digits; write 1985"),
        ("Y-0044", "Y is for years of more than four digits; write -0044"),
        ("Y1234567890", "outside the years this tool handles \\(at most 9 digits"),
        ("Y012345", "no leading zero"),
        ("Y12345-06", "is not an EDTF Y year; write Y and more than four digits"),
        ("-0000", "'-0000' has year -0000; year zero is 0000"),
        ("-XXXX", "leaves the whole year unspecified"),
        ("", "^when: '' is empty$"),
        ("   ", "'' is empty"),
        (
            "2023/06/01",
            "'2023/06/01' is not EDTF; write dates as YYYY, YYYY-MM or YYYY-MM-DD",
        ),
        ("01.06.2023", "is not EDTF"),
        ("June 2023", "is not EDTF"),
        ("2023-6", "is not EDTF"),
        ("2023-06-1", "is not EDTF"),
        ("23", "is not EDTF"),
        ("2023-x", "is not EDTF"),
        ("２０２４", "is not EDTF"),  # only ASCII digits
        ("000٠", "is not EDTF"),
        ("2019 / 2020", "is not EDTF"),
        ("..", "only allowed as an interval end"),
        ("2004-X5", "only trailing digits may be unspecified"),
        ("201X-06", "only trailing digits may be unspecified"),
        ("1985-XX-05", "only trailing digits may be unspecified"),
        ("XXXX", "leaves the whole year unspecified"),
        ("2024-06-06T25:00:00", "has time 25:00:00; times run 00:00:00-23:59:59"),
        ("2024-06-06T10:60:00", "has time 10:60:00"),
        ("2024-06-06T10:00:00+24:00", r"has offset \+24:00"),
        ("2024-06-06T10:00", "is not an EDTF date-time"),
        ("2024-06-06T10:00:00~", "qualifiers apply to dates, not date-times"),
        ("2024-02-30T10:00:00", "is not a real day"),
    ],
)
def test_invalid_dates_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(EdtfError, match=problem):
        parse(text)


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("{2004,2005}", "sets or lists"),
        ("[1667,1668]", "sets or lists"),
        ("1950S2", r"significant digits \(S\)"),
        ("Y17E7", r"an exponent \(E\)"),
        ("2004-?06", "a qualifier inside a date"),
        ("2004?-06-11", "a qualifier inside a date"),
        ("?2004-06", "a qualifier inside a date"),
        ("2004-06~-11", "a qualifier inside a date"),
    ],
)
def test_level_2_syntax_is_reported_as_unsupported(text: str, feature: str) -> None:
    with pytest.raises(EdtfError, match=f"uses {feature}, which is level 2 EDTF"):
        parse(text)


def test_error_carries_the_field_name_passed_in() -> None:
    with pytest.raises(EdtfError) as caught:
        parse("2023-02-30", field="sources[0].published")
    assert caught.value.field == "sources[0].published"
    assert caught.value.problem.startswith("'2023-02-30' is not a real day")
    assert str(caught.value).startswith("sources[0].published: ")
    assert isinstance(caught.value, ValidationError)


def test_field_defaults_to_when() -> None:
    with pytest.raises(EdtfError) as caught:
        parse("nonsense")
    assert caught.value.field == "when"


def test_describe_passes_the_field_name_into_its_error() -> None:
    with pytest.raises(EdtfError) as caught:
        describe("2023-13", field="when.anchor")
    assert caught.value.field == "when.anchor"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("2024", "2024"),
        ("0476", "476"),
        ("2024-06", "June 2024"),
        ("2024-06-06", "2024-06-06"),
        ("2024-06-06T10:15:30Z", "2024-06-06 10:15:30Z"),
        ("2024-06-06T10:15:30+02:00", "2024-06-06 10:15:30+02:00"),
        ("2023-21", "spring 2023"),
        ("2023-22", "summer 2023"),
        ("2023-23", "autumn 2023"),
        ("2023-24", "winter 2023/24"),
        ("1999-24", "winter 1999/2000"),
        ("201X", "2010s"),
        ("19XX", "1900s"),
        ("1XXX", "1000–1999"),
        ("201X-XX", "2010s"),
        ("1985-XX", "1985 (month unknown)"),
        ("1985-XX-XX", "1985 (month unknown)"),
        ("2004-1X", "2004 (October–December)"),
        ("2004-0X", "2004 (January–September)"),
        ("1985-04-XX", "April 1985 (day unknown)"),
        ("1985-04-1X", "April 1985 (days 10–19)"),
        ("2024-06~", "about June 2024"),
        ("2021-09?", "September 2021?"),
        ("2021-09%", "about September 2021?"),
        ("2023-24~", "about winter 2023/24"),
        ("2023-12/2024-02", "December 2023 – February 2024"),
        ("2019~/2020?", "about 2019 – 2020?"),
        ("2004-02-01/2005", "2004-02-01 – 2005"),
        ("../1985-04-12", "until 1985-04-12"),
        ("1985-04-12/..", "from 1985-04-12"),
        ("/1985-04-12", "? – 1985-04-12"),
        ("1985-04-12/", "1985-04-12 – ?"),
        (" 2024-06 ", "June 2024"),
    ],
)
def test_describe_gives_a_short_english_label(text: str, label: str) -> None:
    assert describe(text) == label


@pytest.mark.parametrize("text", ["2023-02-30", "", "2023-25", "{2004}"])
def test_describe_rejects_what_parse_rejects(text: str) -> None:
    with pytest.raises(EdtfError):
        describe(text)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2024", True),
        ("2023-24~", True),
        ("../2024", True),
        ("201X?", True),
        ("2023-02-29", False),
        ("", False),
        ("../..", False),
        ("2023/06/01", False),
        ("[2004]", False),
    ],
)
def test_is_valid_says_whether_parse_accepts(text: str, valid: bool) -> None:
    assert is_valid(text) is valid


def test_bounds_are_frozen() -> None:
    b = parse("2024")
    with pytest.raises(AttributeError):
        b.earliest = D(2000, 1, 1)  # type: ignore[misc]


def _year(year: int) -> str:
    return f"{year:04d}" if year >= 0 else f"-{-year:04d}"


def _season_code(day: Day) -> str:
    """The EDTF season containing `day` (Jan and Feb belong to last winter)."""
    if day.month <= 2:
        return f"{_year(day.year - 1)}-24"
    return f"{_year(day.year)}-{20 + day.month // 3}"


_DAYS = st.integers(Day(-9998, 1, 1).ordinal(), Day(9998, 12, 31).ordinal())


@given(
    n=_DAYS,
    precision=st.sampled_from(["year", "month", "day", "season", "decade"]),
    qualifier=st.sampled_from(["", "?", "~", "%"]),
)
def test_a_date_lies_within_the_bounds_of_any_precision_it_is_written_at(
    n: int, precision: str, qualifier: str
) -> None:
    day = Day.from_ordinal(n)
    year = _year(day.year)
    text = {
        "year": year,
        "month": f"{year}-{day.month:02d}",
        "day": day.isoformat(),
        "season": _season_code(day),
        "decade": year[:-1] + "X",
    }[precision] + qualifier
    b = parse(text)
    assert b.earliest <= day <= b.latest
    assert b.earliest.key() <= day.key() <= b.latest.key()


_END = r"(-?[\dX]{4}(-[\dX]{2}(-[\dX]{2})?)?[?~%]?|\.\.)?"


@given(st.from_regex(rf"\A{_END}(/{_END})?\Z", fullmatch=True))
def test_any_accepted_input_has_earliest_no_later_than_latest(text: str) -> None:
    try:
        b = parse(text)
    except EdtfError:
        return
    assert b.earliest <= b.latest
    assert describe(text)


@pytest.mark.parametrize(
    "text",
    ["2004-02-01T10:10:10/2005", "2004/2005-02-08T09:00:00Z", "../2004-02-01T10:00:00",
     "2004-02-01T10:10:10Z/2005-02-08T09:00:00+01:00"],
)  # fmt: skip
def test_new_input_refuses_a_time_of_day_inside_an_interval(text: str) -> None:
    with pytest.raises(EdtfError, match="has a time of day; EDTF intervals"):
        check(text)
    assert parse(text).earliest <= parse(text).latest  # stored ones still read


def test_a_single_date_time_is_still_taken() -> None:
    assert check("2024-06-06T10:15:30Z").earliest == D(2024, 6, 6)


PADDED = ["2023 ", " 2023", "2023\u00a0", "2023\u3000", "\t2023-05/2023-06 "]


@pytest.mark.parametrize("text", PADDED)
def test_new_input_with_white_space_around_the_date_is_refused(text: str) -> None:
    with pytest.raises(EdtfError, match=r"^published: '2023.*' has white space"):
        check(text, field="published")
