"""`entity list|show` and `source list|show`, on the bundled dataset."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"


def data(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_entity_list_filters_by_kind_and_search(demo: Run) -> None:
    laws = data(demo, "entity", "list", "--kind", "law")["entities"]
    assert [e["id"] for e in laws] == [
        "kz-criminal-code-1997",
        "kz-criminal-code-2014",
        "kz-criminal-code-2014-draft",  # the bill, amended in April 2014
    ]
    found = data(demo, "entity", "list", "--search", "Серебрякова")["entities"]
    assert [e["id"] for e in found] == ["tatyana-serebryakova"]
    everyone = data(demo, "entity", "list")["entities"]
    assert len(everyone) == 64
    table = demo("entity", "list", "--kind", "law")
    assert table.exit_code == 0 and "3 entities" in table.output


def test_entity_show_lists_the_facts_naming_it(demo: Run) -> None:
    shown = data(demo, "entity", "show", "Татьяна Серебрякова")
    assert shown["entity"]["id"] == "tatyana-serebryakova"
    assert [f["id"] for f in shown["facts"]] == [
        "serebryakova-chatroulette-conversation-2021",
        "serebryakova-investigation-2023",
        "serebryakova-verdict-2023",
        "serebryakova-daughter-placed-2023",
    ]
    before = demo("entity", "show", "tatyana-serebryakova", "--known-at", "2000-01-01")
    assert before.exit_code == 1  # not yet recorded then
    assert "unknown entity 'tatyana-serebryakova'" in before.output
    missing = demo("entity", "show", "tatyana-serebryakov")
    assert missing.exit_code == 1 and "did you mean 'tatyana-serebryakova'" in (
        missing.output
    )


def test_source_show_has_the_copy_and_every_citation(demo: Run, tmp_path: Path) -> None:
    listed = data(demo, "source", "list")["sources"]
    assert [s["id"] for s in listed] == ["adilet-k1400000226", SOURCE]
    shown = data(demo, "source", "show", SOURCE)
    assert shown["copy_bytes"] is None  # the dataset names a copy it does not store
    cited = {(c["fact"], c["locator"]) for c in shown["cited_by"]}
    assert ("serebryakova-verdict-2023", "para:6") in cited
    timeline = data(demo, "timeline")["facts"]
    assert len(shown["cited_by"]) == sum(
        c["source"] == SOURCE for f in timeline for c in f["sources"]
    )
    copy = tmp_path / "copy.txt"
    copy.write_bytes(b"an archived copy")
    assert demo("source", "attach", SOURCE, str(copy)).exit_code == 0
    assert data(demo, "source", "show", SOURCE)["copy_bytes"] == 16
    text = demo("source", "show", SOURCE)
    assert (
        "16 bytes stored" in text.output
        and "serebryakova-verdict-2023 @ para:6" in (text.output)
    )


def test_a_persons_facts_come_a_page_at_a_time(demo: Run) -> None:
    whole = data(demo, "person", "tatyana-serebryakova")
    assert whole["facts_total"] == len(whole["facts"]) == 4
    first = data(demo, "person", "tatyana-serebryakova", "--limit", "2")
    rest = data(demo, "person", "tatyana-serebryakova", "--offset", "2")
    assert first["facts_total"] == rest["facts_total"] == 4
    assert first["facts"] + rest["facts"] == whole["facts"]
    assert first["sentences"] == whole["sentences"]  # never paged
    beyond = data(demo, "person", "tatyana-serebryakova", "--offset", "9")
    assert (beyond["facts"], beyond["facts_total"]) == ([], 4)


def test_source_correction_is_a_new_version_seen_by_known_at(demo: Run) -> None:
    before = data(demo, "source", "show", SOURCE)["source"]
    corrected = demo(
        "source", "correct", SOURCE, "--set", "published=2024-06-13",
        "--set", "publisher=Worldcrunch (Paris)", "--reason", "the page's own date",
    )  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    assert corrected.output.startswith(f"corrected source {SOURCE} (version 2, ")
    now = data(demo, "source", "show", SOURCE)["source"]
    assert (now["published"], now["publisher"], now["version"]) == (
        "2024-06-13", "Worldcrunch (Paris)", 2,
    )  # fmt: skip
    assert now["sha256"] == before["sha256"]  # the copy is not a correction's
    then = data(demo, "source", "show", SOURCE, "--known-at", before["recorded_at"])
    assert then["source"] == before
    log = demo("log", SOURCE)
    assert "SourceCorrected" in log.output and "the page's own date" in log.output
    # citations of the source still check and still count
    assert len(data(demo, "source", "show", SOURCE)["cited_by"]) == 59


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "sha256=" + "0" * 64], "sha256: cannot be corrected; correctable"),
        (["--set", "id=other"], "id: cannot be corrected"),
        (["--set", "url=ftp://x"], "url: must be an http:// or https:// URL"),
        (["--set", "published=2024-13-45"], "published"),
        (["--set", "language=en"], "the new values equal the current ones"),
        (["--set", "title"], "'title': write FIELD=VALUE"),
    ],
)
def test_source_correction_refuses_bad_fields(
    demo: Run, args: list[str], message: str
) -> None:
    before = demo("log", "--format", "json").stdout
    result = demo("source", "correct", SOURCE, *args, "--reason", "why")
    assert result.exit_code != 0 and message in result.output
    assert demo("log", "--format", "json").stdout == before


def test_clashing_source_slug_says_to_correct_it(demo: Run) -> None:
    result = demo(
        "source", "add", SOURCE, "--title", "Another", "--publisher", "P",
        "--url", "https://example.org/", "--published", "2024",
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"use `khronika source correct {SOURCE} --set FIELD=VALUE" in result.output
    missing = demo(
        "source", "correct", SOURCE[:-1], "--set", "title=x", "--reason", "r"
    )
    assert missing.exit_code == 1 and f"did you mean '{SOURCE}'" in missing.output


def csv_rows(run: Run, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))


def test_show_as_csv_keeps_the_record_and_its_facts(demo: Run) -> None:
    rows = csv_rows(demo, "source", "show", SOURCE)
    assert rows[0]["section"] == "source" and rows[0]["id"] == SOURCE
    assert rows[0]["sha256"] and rows[0]["url"].startswith("https://")
    assert {r["section"] for r in rows[1:]} == {"citation"} and len(rows) == 60
    entity = csv_rows(demo, "entity", "show", "tatyana-serebryakova")
    assert entity[0]["name"] == "Tatyana Serebryakova"
    assert "Татьяна Серебрякова" in entity[0]["aliases"]
    assert [r["fact"] for r in entity[1:]][-1] == "serebryakova-daughter-placed-2023"
