"""Years outside 0001-9999 through the CLI: stored, ordered and queried.

The views store bounds as text keys (`days.Day.key`); these tests check that
negative, zero and long years order and compare correctly in SQLite and in
PostgreSQL (where the bounds columns are COLLATE "C").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from khronika.domain.days import Day
from khronika.projections import schema
from khronika.projections.views import open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment

Run = Callable[..., Result]
# id -> EDTF, in world-time order
DATES = {
    "far-past": "Y-170000002",
    "bronze-age": "-1985",
    "ides-of-march": "-0044-03-15",
    "year-zero": "0000",
    "recent": "2023-05-30",
    "last-winter": "9999-24",
    "far-future": "Y170000002",
}


@pytest.fixture
def chronicle(seeded: Chronicle, make: Any, run: Run) -> Run:
    for slug, when in reversed(DATES.items()):
        seeded.append_fact(make.fact(id=slug, when=when), "tester")
    return run


def data(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def facts(run: Run, *args: str) -> dict[str, str]:
    return {f["id"]: f["status"] for f in data(run, "timeline", *args)["facts"]}


def test_the_timeline_orders_negative_zero_and_long_years(chronicle: Run) -> None:
    timeline = data(chronicle, "timeline")["facts"]
    assert [f["id"] for f in timeline] == list(DATES)
    shown = {f["id"]: (f["when"]["earliest"], f["when"]["latest"]) for f in timeline}
    assert shown["ides-of-march"] == ("-0044-03-15", "-0044-03-15")
    assert shown["far-past"] == ("Y-170000002-01-01", "Y-170000002-12-31")
    assert shown["last-winter"] == ("9999-12-01", "Y10000-02-29")
    assert shown["year-zero"] == ("0000-01-01", "0000-12-31")


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("Y-170000002", {"far-past": "certain"}),
        ("-1985-06", {"far-past": "certain", "bronze-age": "possible"}),
        ("-0044-03-15", {"far-past": "certain", "bronze-age": "certain",
                         "ides-of-march": "certain"}),
        ("0000-06", {"far-past": "certain", "bronze-age": "certain",
                     "ides-of-march": "certain", "year-zero": "possible"}),
        ("9999-12-31", dict.fromkeys(list(DATES)[:5], "certain")
         | {"last-winter": "possible"}),
        ("Y10000", dict.fromkeys(list(DATES)[:6], "certain")),
        ("Y170000002", dict.fromkeys(DATES, "certain")),
    ],
)  # fmt: skip
def test_as_of_compares_days_across_eras(
    chronicle: Run, as_of: str, expected: dict[str, str]
) -> None:
    assert facts(chronicle, "--as-of", as_of) == expected


def test_from_and_to_take_the_first_and_last_day_of_a_year(chronicle: Run) -> None:
    assert list(facts(chronicle, "--from", "-1985", "--to", "0000")) == [
        "bronze-age", "ides-of-march", "year-zero"]  # fmt: skip


def test_stats_by_year_lists_years_in_numeric_order(chronicle: Run) -> None:
    result = data(chronicle, "stats", "--by", "year", "--as-of", "Y170000002")
    keys = [b["key"] for b in result["buckets"]]
    assert keys == ["Y-170000002", "-1985", "-0044", "0000", "2023", "9999",
                    "Y10000", "Y170000002"]  # fmt: skip
    counts = {b["key"]: (b["certain"], b["possible"]) for b in result["buckets"]}
    assert counts["-0044"] == (1, 0)
    assert counts["9999"] == counts["Y10000"] == (0, 1)  # the winter spans both
    without = data(chronicle, "stats", "--by", "year")  # no as-of: the same years
    assert [b["key"] for b in without["buckets"]] == keys


def test_views_of_an_older_format_are_refused_until_upgrade(
    chronicle: Run, store_path: str
) -> None:
    """Format 1 stored ISO dates with 0001-01-01 for an open start."""
    data(chronicle, "timeline")
    views = open_views(environment(store_path))
    try:
        with views.datastore.transaction(commit=True) as c:
            views._enter(c)
            c.execute("UPDATE view_format SET format = 1")
            c.execute("UPDATE view_facts SET earliest = '0001-01-01'")
        refused = chronicle("timeline")
        assert refused.exit_code == 1
        old = f"has views of format 1; this version reads format {schema.FORMAT}"
        assert old in refused.output
        assert "Run `khronika upgrade` once" in refused.output
        upgraded = chronicle("upgrade")
        assert upgraded.exit_code == 0, upgraded.output
        assert data(chronicle, "timeline")["facts"][0]["id"] == "far-past"
        (row,) = views.query("SELECT format FROM view_format")
        assert row["format"] == schema.FORMAT
        keys = views.query("SELECT earliest FROM view_facts WHERE fact = 'bronze-age'")
        assert [r["earliest"] for r in keys] == [Day(-1985, 1, 1).key()]
    finally:
        views.datastore.close()
