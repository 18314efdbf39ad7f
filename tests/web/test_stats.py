"""Statistics that say what they count: verdicts, defendants, people and
groups in their own columns, totals that are the sums of their rows, and
filters by charge, place, court and kind; the CLI, the API and the page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from typing import Any

from click.testing import Result
from starlette.testclient import TestClient

Run = Callable[..., Result]
SUMMED = ("certain", "possible", "verdicts", "defendants", "people", "groups")


def stats(run: Run, *args: str) -> Any:
    result = run("stats", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_by_sentence_type_defendants_and_verdicts_are_separate_labelled_columns(
    demo: Run,
) -> None:
    answer = stats(demo, "--by", "sentence-type")
    assert answer["counts"] == "defendants"
    buckets, total = answer["buckets"], answer["total"]
    for column in SUMMED:
        assert total[column] == sum(b[column] for b in buckets), column
    assert total["certain"] + total["possible"] == total["defendants"]
    assert answer["defendants"] == total["defendants"] == 10
    assert answer["verdicts"] == 7 and total["verdicts"] == 8  # one in two rows
    assert any("the rows add up to 8" in n for n in answer["notes"])
    assert total["people"] + total["groups"] == total["defendants"]
    prison = next(b for b in buckets if b["key"] == "prison")
    assert (prison["verdicts"], prison["defendants"]) == (5, 7)
    table = demo("stats", "--by", "sentence-type")
    headers = [line.split() for line in table.output.splitlines() if " key " in line]
    assert headers[0] == ["key", "certain", "possible", "verdicts", "defendants"]
    assert headers[1][:4] == ["key", "people", "groups", "terms"]
    total = next(line for line in table.output.splitlines() if " total " in line)
    assert total.split() == ["total", "10", "0", "8", "10"]
    assert "certain and possible count defendants" in table.output
    assert "whose size the record does not give" in table.output
    rows = list(csv.DictReader(io.StringIO(
        demo("stats", "--by", "sentence-type", "--format", "csv").stdout)))  # fmt: skip
    *body, last = rows
    assert last["key"] == "total"
    for column in SUMMED:
        assert int(last[column]) == sum(int(r[column]) for r in body), column


def test_every_dimension_totals_its_rows_and_says_what_it_counts(demo: Run) -> None:
    for by in ("year", "charge", "place", "platform"):
        answer = stats(demo, "--by", by)
        assert answer["counts"] == "verdicts"
        for column in SUMMED:
            assert answer["total"][column] == sum(
                b[column] for b in answer["buckets"]
            ), (by, column)
    by_year = stats(demo, "--by", "year")
    assert any("several years" in n for n in by_year["notes"])


def test_filters_by_charge_place_court_and_kind(demo: Run) -> None:
    separatism = stats(demo, "--by", "year", "--charge", "kz-criminal-code-2014:180")
    assert separatism["verdicts"] == 5
    assert separatism["filters"] == {"charge": ["kz-criminal-code-2014:180"]}
    whole_law = stats(demo, "--by", "year", "--charge", "kz-criminal-code-2014")
    assert whole_law["verdicts"] == 6
    court = stats(demo, "--by", "charge", "--court", "petropavlovsk-city-court")
    assert court["verdicts"] == 1 and court["defendants"] == 2
    statements = stats(demo, "--by", "year", "--kind", "statement")
    assert statements["verdicts"] > 5 and statements["filters"]["kind"] == ["statement"]
    refused = demo("stats", "--by", "charge", "--kind", "statement")
    assert refused.exit_code == 1 and "count verdicts" in refused.output


def test_the_api_and_the_page_count_as_the_cli(demo: Run, client: TestClient) -> None:
    url = "/api/stats/year?charge=kz-criminal-code-2014:180&as_of=2024"
    served = client.get(url).json()
    cli = stats(demo, "--by", "year", "--charge", "kz-criminal-code-2014:180",
                "--as-of", "2024")  # fmt: skip
    assert served["buckets"] == cli["buckets"] and served["total"] == cli["total"]
    page = client.get("/stats?by=sentence-type").text
    for label in ("Certain defendants", "Possible defendants", "Verdicts",
                  "Defendants", "People", "Total of the rows",
                  "size not recorded"):  # fmt: skip
        assert label in page, label
    filtered = client.get("/stats?by=year&place=petropavlovsk&utm_source=x")
    assert filtered.status_code == 200 and "place:" in filtered.text
