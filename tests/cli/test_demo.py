"""The bundled dataset, loaded through `khronika demo`."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from importlib import resources
from typing import Any

from click.testing import Result

Run = Callable[..., Result]
ARTICLE = "worldcrunch-kz-separatism"
OFFICIAL = "adilet-k1400000226"  # the 2014 Criminal Code, its official text


def bundle(name: str) -> list[dict[str, Any]]:
    path = resources.files("khronika.data") / "kazakhstan-separatism" / name
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def test_demo_loads_once_then_reports_nothing_new(run: Run) -> None:
    first = run("demo")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("made your maintainer key: ")
    assert "registered tester as this store's first admin" in first.output
    assert (
        "the Kazakhstan separatism dataset: added 2 sources, 64 entities, 50 facts\n"
        in first.output
    )
    assert "khronika log serebryakova-verdict-2023" in first.output
    second = run("demo")
    assert second.output.startswith(
        "the Kazakhstan separatism dataset: nothing new "
        "(2 sources, 64 entities, 50 facts already present)"
    )


def test_log_after_demo_shows_the_dataset(run: Run) -> None:
    run("demo")
    rows = json.loads(run("log", "--format", "json").output)
    assert Counter(r["event"] for r in rows) == {
        "FactRecorded": 50,
        "EntityRegistered": 64,
        "SourceAdded": 2,
        "MaintainerAdded": 1,  # the first admin, registered by the store's key
    }
    out = run("log", "serebryakova-verdict-2023").output
    assert out.startswith("event ")
    assert "verdict 2023-05-30: Tatyana Serebryakova" in out
    assert f"Source:   {ARTICLE}@para:6" in out


def test_every_fact_cites_the_article_by_paragraph() -> None:
    """All but the code's adoption, which its official publication records
    (the article does not mention it)."""
    facts = bundle("facts.jsonl")
    assert len(facts) >= 30
    for fact in facts:
        assert fact["sources"], fact["id"]
        cited = {c["source"] for c in fact["sources"]}
        assert cited <= {ARTICLE, OFFICIAL}, fact["id"]
        assert ARTICLE in cited or fact["id"] == "kz-criminal-code-2014-adopted"
        for citation in fact["sources"]:
            assert citation["locator"].startswith("para:")


def test_dataset_spans_1996_to_june_2024_with_the_required_kinds() -> None:
    facts = {f["id"]: f for f in bundle("facts.jsonl")}
    kinds = Counter(f["kind"] for f in facts.values())
    for kind in (
        "statement",
        "investigation",
        "verdict",
        "law_amendment",
        "publication",
        "measurement",
        "diplomatic",
        "sentence_change",
    ):
        assert kinds[kind] >= 1, kind
    assert facts["kokshetau-cossack-uprising-1996"]["when"] == "1996"
    assert facts["astakhov-verdict-2024"]["when"]["edtf"] == "2024-06-06"
    draft = facts["kz-criminal-code-separatism-amendment-2014"]["details"]
    assert draft["law"] == "kz-criminal-code-2014-draft"  # a bill, in April 2014
    code = facts["kz-criminal-code-2014-in-force"]
    assert code["when"] == "2015-01-01" and code["details"]["law"] == (
        "kz-criminal-code-2014"
    )
    for amendment in (draft, code["details"]):
        assert [p["max_term_months"] for p in amendment["penalties_after"]] == [
            84,
            120,
            180,
        ]
    assert facts["kz-criminal-code-2014-adopted"]["when"] == "2014-07-03"


def test_relative_dates_keep_their_wording_and_anchor() -> None:
    (source,) = [s for s in bundle("sources.jsonl") if s["id"] == ARTICLE]
    relative = [f["when"] for f in bundle("facts.jsonl") if isinstance(f["when"], dict)]
    assert len(relative) >= 10
    letter = next(
        f
        for f in bundle("facts.jsonl")
        if f["id"] == "atamans-open-letter-antoshko-2023"
    )
    assert letter["when"]["edtf"] == "2023-21"
    assert letter["when"]["wording"] == "last spring"
    assert all(
        w.get("anchor") == source["published"]
        for w in relative
        if w.get("wording") in ("last spring", "in June")
    )


def test_unnamed_and_collective_defendants_are_groups() -> None:
    groups = [e for e in bundle("entities.jsonl") if e["kind"] == "group"]
    assert len(groups) >= 4
