"""EDTF edge cases at the as-of and bucket boundaries, and sentence status."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from khronika.domain.days import OPEN_END, Day, from_key
from khronika.domain.documents import FactDoc
from khronika.projections.law import law
from khronika.projections.person import status, term
from khronika.projections.queries import Point, timeline
from khronika.projections.stats import stats
from khronika.projections.views import ViewStore, open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment


def verdict(when: str) -> FactDoc:
    return msgspec.convert({
        "id": "v", "kind": "verdict", "when": when, "summary": "A verdict.",
        "participants": [{"entity": "tatyana-serebryakova", "role": "defendant"}],
        "sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:1"}],
    }, FactDoc)  # fmt: skip


@pytest.fixture
def one(seeded: Chronicle) -> Any:
    def views_with(when: str) -> ViewStore:
        seeded.append_fact(verdict(when), "ann")
        views = open_views(environment(seeded.location))
        views.catch_up(seeded.read_after)
        return views

    return views_with


def status_on(views: ViewStore, day: str | None) -> str | None:
    as_of = from_key(day) if day else None
    facts = timeline(views, Point(as_of=as_of))
    return facts[0].status if facts else None


def years(views: ViewStore, day: str | None = None) -> dict[str, tuple[int, int]]:
    as_of = from_key(day) if day else None
    found = stats(views, Point(as_of=as_of), "year").buckets
    assert not isinstance(found, msgspec.UnsetType)
    return {b.key: (b.certain, b.possible) for b in found}


@pytest.mark.parametrize(
    ("when", "day", "expected"),
    [
        ("2023-24", "2023-11-30", None),  # winter starts on 1 December
        ("2023-24", "2023-12-01", "possible"),
        ("2023-24", "2024-02-28", "possible"),  # 2024 is a leap year
        ("2023-24", "2024-02-29", "certain"),
        ("2022-24", "2023-02-28", "certain"),
        ("2024-06-06", "2024-06-05", None),
        ("2024-06-06", "2024-06-06", "certain"),  # the as-of day itself counts
        ("2024-06~", "2024-05-01", "possible"),  # about June: May to July
        ("2024-06~", "2024-07-31", "certain"),
        # '?' keeps its bounds but is never certain: the source does not know
        ("2024-06?", "2024-05-31", None),
        ("2024-06?", "2024-06-30", "possible"),
        ("2024-06?", None, "possible"),
        ("2024-06%", "2030-01-01", "possible"),
        ("2020?/2021", "2022-01-01", "possible"),  # either end of an interval
        ("2020/2021?", "2022-01-01", "possible"),
        ("201X", "2009-12-31", None),
        ("201X", "2015-01-01", "possible"),
        ("201X", "2019-12-31", "certain"),
        ("2020/..", "2999-12-31", "possible"),  # an open end is never certain
        ("../2020", "1900-01-01", "possible"),
        ("../2020", "2020-12-31", "certain"),
        ("/2020-06", "2020-06-30", "certain"),
        ("2023-24", None, "certain"),  # without --as-of, everything is in
    ],
)
def test_as_of_boundaries(one: Any, when: str, day: str | None, expected: str) -> None:
    assert status_on(one(when), day) == expected


@pytest.mark.parametrize(
    ("when", "day", "expected"),
    [
        ("2023-24", None, {"2023": (0, 1), "2024": (0, 1)}),
        ("2023-24", "2023-12-31", {"2023": (0, 1)}),
        ("2023-22", None, {"2023": (1, 0)}),
        ("2023-22", "2023-07-01", {"2023": (0, 1)}),
        ("2023~", None, {"2022": (0, 1), "2023": (0, 1), "2024": (0, 1)}),
        ("2023?", None, {"2023": (0, 1)}),  # uncertain: never certain
        ("2015?", "2015-12-31", {"2015": (0, 1)}),
        ("2015?", "2020-01-01", {"2015": (0, 1)}),
        ("2023-12%", None, {"2023": (0, 1), "2024": (0, 1)}),
        ("199X", "1992-06-30", {"1990": (0, 1), "1991": (0, 1), "1992": (0, 1)}),
        ("../2020", None, {"undated": (1, 0)}),
        ("../2020", "2019-01-01", {"undated": (0, 1)}),
        ("2022-01/2022-06", None, {"2022": (1, 0)}),
        # a date running past today counts in every year it spans
        ("2099-24", None, {"2099": (0, 1), "2100": (0, 1)}),
        ("2099-24", "2099-12-31", {"2099": (0, 1)}),
    ],
)
def test_year_buckets(
    one: Any, when: str, day: str | None, expected: dict[str, tuple[int, int]]
) -> None:
    assert years(one(when), day) == expected


def test_open_ended_interval_is_possible_in_every_year_up_to_the_as_of_day(
    one: Any,
) -> None:
    found = years(one("2021/.."), "2023-06-01")
    assert found == {"2021": (0, 1), "2022": (0, 1), "2023": (0, 1)}


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (Day(2023, 5, 30), 36, Day(2026, 5, 30)),
        (Day(2024, 1, 31), 1, Day(2024, 2, 29)),
        (Day(2023, 11, 30), 3, Day(2024, 2, 29)),
        (Day(9999, 1, 1), 24, Day(10001, 1, 1)),
        (Day(999_999_999, 1, 1), 12, OPEN_END),
    ],
)
def test_add_months_clamps_to_the_month_end(start: Day, months: int, end: Day) -> None:
    assert start.plus_months(months) == end


@pytest.mark.parametrize(
    ("months", "text"),
    [(36, "3 years"), (12, "1 year"), (30, "2 years 6 months"), (1, "1 month"),
     (0, "0 months"), (None, "an unrecorded term")],
)  # fmt: skip
def test_term_in_words(months: int | None, text: str) -> None:
    assert term(months) == text


SENTENCE = {
    "fact": "v", "outcome": "convicted", "type": "prison", "term_months": 36,
    "regime": "medium", "probation_months": None, "earliest": "2023-05-30",
    "latest": "2023-05-30", "label": "2023-05-30", "uncertain": 0,
}  # fmt: skip
SUSPENDED = SENTENCE | {"type": "suspended", "term_months": 48, "regime": None,
                        "probation_months": 36}  # fmt: skip
FINE = SENTENCE | {"type": "fine", "term_months": None, "regime": None}
RELEASE = {"fact": "r", "verdict": "v", "change": "release", "served_months": 36,
           "latest": "2026-05-30", "label": "2026-05-30", "uncertain": 0}  # fmt: skip


@pytest.mark.parametrize(
    ("day", "changes", "text"),
    [
        (Day(2023, 5, 29), [], "possibly sentenced by then (verdict 2023-05-30)"),
        (Day(2024, 1, 1), [],
         "serving 3 years, prison, medium-security regime, since 2023-05-30"),
        (Day(2026, 5, 30), [], "3 years, prison, medium-security regime; "
         "the term would end by 2026-05-30"),  # nothing recorded says served
        (Day(2027, 1, 1), [RELEASE | {"change": "appeal"}],
         "served 3 years, prison, medium-security regime (full term recorded, r)"),
        (Day(2026, 6, 1), [RELEASE],
         "released (2026-05-30) from 3 years, prison, medium-security regime"),
        (Day(2025, 1, 1), [RELEASE | {"change": "pardon", "latest": "2024-12-31",
                                       "label": "2024-12-31"}],
         "pardoned (2024-12-31) from 3 years, prison, medium-security regime"),
    ],
)  # fmt: skip
def test_sentence_status_on_a_day(
    day: Day, changes: list[dict[str, Any]], text: str
) -> None:
    assert status(SENTENCE, changes, day) == text


@pytest.mark.parametrize(
    ("sentence", "day", "text"),
    [
        (SUSPENDED, Day(2024, 1, 1), "under probation: 4 years, suspended, "
         "3 years probation, since 2023-05-30"),
        # its end comes from the probation period, not the term
        (SUSPENDED, Day(2026, 5, 30), "probation ended by 2026-05-30: 4 years, "
         "suspended, 3 years probation"),
        (SUSPENDED | {"probation_months": None}, Day(2030, 1, 1),
         "4 years, suspended, since 2023-05-30 (probation period not recorded)"),
        (FINE, Day(2030, 1, 1), "fine, imposed on 2023-05-30"),
        (SENTENCE | {"uncertain": 1}, Day(2024, 1, 1),
         "possibly serving 3 years, prison, medium-security regime, since "
         "2023-05-30 (the verdict's date 2023-05-30 is uncertain)"),
    ],
)  # fmt: skip
def test_sentence_status_follows_the_sentence_type(
    sentence: dict[str, Any], day: Day, text: str
) -> None:
    assert status(sentence, [], day) == text


def test_an_uncertain_verdict_is_possible_not_certain_in_every_statistic(
    seeded: Chronicle,
) -> None:
    details = {"type": "verdict", "charges": ["kz-criminal-code-2014:180"],
               "sentences": [{"type": "prison", "term_months": 36}]}  # fmt: skip
    doc = msgspec.convert(msgspec.to_builtins(verdict("2015?")) | {
        "details": details}, FactDoc)  # fmt: skip
    seeded.append_fact(doc, "ann")
    views = open_views(environment(seeded.location))
    views.catch_up(seeded.read_after)
    point = Point(as_of=Day(2020, 1, 1))
    for by in ("year", "charge", "place", "platform", "sentence-type"):
        buckets = stats(views, point, by).buckets
        assert not isinstance(buckets, msgspec.UnsetType)
        assert [(b.certain, b.possible) for b in buckets] == [(0, 1)], by
    assert timeline(views, Point(as_of=Day(2020, 1, 1), certain=True)) == []


def test_an_amendment_with_an_uncertain_date_leaves_the_law_state_possible(
    seeded: Chronicle,
) -> None:
    amendment = msgspec.convert({
        "id": "a", "kind": "law_amendment", "when": "2014?", "summary": "Amended.",
        "sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:1"}],
        "details": {"type": "law_amendment", "law": "kz-criminal-code-2014",
                    "penalties_after": [{"conduct": "Calls for separatism",
                                         "article": "kz-criminal-code-2014:180",
                                         "max_term_months": 84}]},
    }, FactDoc)  # fmt: skip
    seeded.append_fact(amendment, "ann")
    views = open_views(environment(seeded.location))
    views.catch_up(seeded.read_after)
    state = law(views, "kz-criminal-code-2014", Point(as_of=Day(2020, 1, 1)))
    assert state.in_force.certain is False
    assert [p.id for p in state.in_force.possibly] == ["a"]
    assert state.amendments[0].status == "possible"
