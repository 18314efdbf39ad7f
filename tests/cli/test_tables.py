"""Tables at 80 columns wrap between words, never inside a slug or a header."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import click
from click.testing import CliRunner, Result

from khronika.cli.output import emit

Run = Callable[..., Result]


def words(text: str) -> set[str]:
    return set(re.split(r"\s+", text))


def test_stats_by_charge_fits_80_columns_with_whole_slugs(demo: Run) -> None:
    out = demo("stats", "--by", "charge").output
    assert max(len(line) for line in out.splitlines()) <= 80, out
    found = words(out)
    assert {"kz-criminal-code-2014:180", "kz-criminal-code-2014:174"} <= found, out
    assert {"key", "certain", "possible", "terms", "median", "mean"} <= found, out


def test_log_table_shows_every_fact_slug_whole(demo: Run) -> None:
    out = demo("log", "--format", "table").output
    slugs = [f["id"] for f in json.loads(demo("timeline", "--format", "json").output)
             ["facts"]]  # fmt: skip
    found = words(out)
    assert [s for s in slugs if s not in found] == []


def table(rows: list[dict[str, str]]) -> str:
    """What `emit(rows, "table")` prints to a non-terminal (80 columns)."""

    @click.command()
    def show() -> None:
        emit(rows, "table")

    result = CliRunner().invoke(show, [])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_word_too_long_for_80_columns_widens_the_table() -> None:
    slug = "a-very-long-slug-" * 6 + "end"
    out = table([{"id": slug, "reason": "short words that may wrap " * 4}])
    assert slug in out.split(), out
    widest = max(len(line) for line in out.splitlines())
    assert 80 < widest <= len(slug) + len("reason") + 5, out


def test_columns_wrap_between_words_when_the_table_is_too_wide() -> None:
    reason = "Checking the date: the court's notice gives the 31st " * 3
    out = table([{"fact_identifier": "serebryakova-verdict-2023", "reason": reason}])
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert {"fact_identifier", "serebryakova-verdict-2023"} <= words(out), out
    assert words(reason) <= words(out), out


def test_an_empty_table_prints_without_error() -> None:
    assert table([]).strip() == ""
