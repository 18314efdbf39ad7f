"""Days beyond Python's date: ordinals, month arithmetic and sortable keys."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from khronika.domain.days import (
    OPEN_END,
    OPEN_END_KEY,
    OPEN_START,
    OPEN_START_KEY,
    Day,
    from_key,
    shown,
    year_of_key,
)

_EPOCH = date(1970, 1, 1).toordinal()
_YEARS = st.one_of(
    st.integers(-9999, 9999),
    st.integers(-999_999_999, 999_999_999),
    st.sampled_from([-999_999_999, -10_000, -1, 0, 1, 9999, 10_000, 999_999_999]),
)
_DAYS = st.builds(
    lambda y, m, d: Day(y, m, d), _YEARS, st.integers(1, 12), st.integers(1, 28)
)


@given(st.dates())
def test_ordinals_agree_with_python_dates_in_its_years(d: date) -> None:
    assert Day.of(d).ordinal() == d.toordinal() - _EPOCH
    assert Day.from_ordinal(d.toordinal() - _EPOCH) == Day.of(d)


@given(_DAYS, st.integers(-100_000, 100_000))
def test_plus_days_round_trips_through_ordinals(day: Day, days: int) -> None:
    moved = day.plus_days(days)
    if OPEN_START < moved < OPEN_END:
        assert moved.ordinal() - day.ordinal() == days
        assert moved.plus_days(-days) == day


@given(_DAYS, _DAYS)
def test_keys_sort_as_text_in_day_order(a: Day, b: Day) -> None:
    assert (a < b) == (a.key() < b.key())
    assert (a == b) == (a.key() == b.key())
    assert from_key(a.key()) == a
    assert year_of_key(a.key()) == a.year


@given(_DAYS)
def test_open_ends_sort_before_and_after_every_day(day: Day) -> None:
    assert OPEN_START_KEY < day.key() < OPEN_END_KEY
    assert OPEN_START.key() == OPEN_START_KEY and OPEN_END.key() == OPEN_END_KEY


def test_keys_keep_plain_iso_for_years_0000_to_9999() -> None:
    assert Day(1985, 4, 12).key() == "1985-04-12"
    assert Day(0, 1, 1).key() == "0000-01-01"
    assert Day(-1985, 1, 1).key() == "-58014-01-01"
    assert Day(170000002, 1, 1).key() == "Y9170000002-01-01"
    assert shown("-58014-01-01") == "-1985-01-01"
    assert shown("Y9170000002-01-01") == "Y170000002-01-01"
    assert shown(OPEN_START_KEY) == shown(OPEN_END_KEY) == ".."
    assert shown("1985-04-12") == "1985-04-12"


def test_year_zero_and_every_fourth_century_are_leap_years() -> None:
    assert Day(0, 2, 28).plus_days(1) == Day(0, 2, 29)
    assert Day(-100, 2, 28).plus_days(1) == Day(-100, 3, 1)
    assert Day(10000, 2, 28).plus_days(1) == Day(10000, 2, 29)
    assert Day(-1, 12, 31).plus_days(1) == Day(0, 1, 1)


def test_plus_months_keeps_the_day_or_takes_the_last() -> None:
    assert Day(2024, 1, 31).plus_months(1) == Day(2024, 2, 29)
    assert Day(9999, 12, 15).plus_months(2) == Day(10000, 2, 15)
    assert Day(0, 1, 15).plus_months(-1) == Day(-1, 12, 15)
    assert Day(999_999_999, 12, 1).plus_months(1) == OPEN_END
