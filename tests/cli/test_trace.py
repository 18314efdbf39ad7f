"""`khronika trace`: a fact down to the paragraph of its source."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"
ARTICLE = Path(__file__).parents[3] / "shared" / "seed" / "000_3cd9964ab855c274.txt"


def test_trace_shows_every_event_with_recorder_reason_and_source(
    demo: Run, maintainer: Callable[..., Run]
) -> None:
    fact = "serebryakova-verdict-2023"
    bob = maintainer("bob")
    bob("correct", fact, "--set", "when=2023-05-31", "--reason",
        "typo", "--source", f"{SOURCE}@para:6")  # fmt: skip
    result = json.loads(demo("trace", fact, "--format", "json").output)
    first, second = result["events"]
    assert (first["event"], first["recorded_by"]) == ("FactRecorded", "tester")
    assert (second["event"], second["recorded_by"], second["reason"]) == (
        "FactCorrected",
        "bob",
        "typo",
    )
    assert first["proof"]["tree_size"] == 119  # the registry's two events too
    assert len(first["proof"]["path"]) == 7  # log2(107) rounded up
    citation = first["citations"][0]
    assert citation["url"].startswith("https://worldcrunch.com/")
    assert (citation["publisher"], citation["locator"]) == ("Worldcrunch", "para:6")
    assert citation["verified"] == "no stored copy"
    assert citation["copy_sha256"] == (
        "740cb4120f803476aabc76a7dba03e6dd0175dc13be8b20881d85ae63ee93016"
    )


@pytest.mark.skipif(
    not ARTICLE.exists(), reason="the seed article is not beside the repo"
)
def test_with_the_copy_attached_every_dataset_quote_verifies(demo: Run) -> None:
    assert "stored" in demo("source", "attach", SOURCE, str(ARTICLE)).output
    facts = json.loads(demo("timeline", "--format", "json").output)["facts"]
    for fact in facts:
        traced = json.loads(demo("trace", fact["id"], "--format", "json").output)
        for citation in traced["events"][0]["citations"]:
            if citation["source"] != SOURCE:  # the code's official text: no copy
                assert citation["verified"] == "no stored copy", citation
                continue
            assert citation["verified"].startswith("verified"), (fact["id"], citation)


def test_trace_known_at_before_a_correction_shows_one_event(demo: Run) -> None:
    before = json.loads(demo("log", "-n", "1", "--format", "json").output)[0]
    fact = "astakhov-verdict-2024"
    demo("retract", fact, "--reason", "test", "--source", f"{SOURCE}@para:4")
    then = json.loads(
        demo(
            "trace", fact, "--known-at", before["recorded_at"], "--format", "json"
        ).output
    )
    assert [e["event"] for e in then["events"]] == ["FactRecorded"]
    assert then["retracted"] is False


def test_trace_entity_lists_its_facts_with_sources(demo: Run) -> None:
    out = demo("trace", "Татьяна Серебрякова").output
    assert out.startswith(
        "Tatyana Serebryakova (person, tatyana-serebryakova): 4 facts"
    )
    assert f"{SOURCE}@para:6" in out


def test_trace_unknown_id_suggests(demo: Run) -> None:
    result = demo("trace", "serebryakova")
    assert result.exit_code == 1
    assert "unknown fact or entity 'serebryakova'; did you mean" in result.output


def test_a_second_copy_keeps_the_first_and_old_citations_check_against_it(
    run: Run, tmp_path: Path
) -> None:
    first, second = tmp_path / "v1.txt", tmp_path / "v2.txt"
    first.write_text("Title\nThe court sentenced him to three years.\n")
    second.write_text("Title\nThe verdict was later overturned.\n")
    assert run("init").exit_code == 0
    assert run("source", "add", "notice", "--title", "Court notice", "--publisher",
               "Court", "--url", "https://example.org/n", "--published", "2024",
               "--language", "en", "--file", str(first)).exit_code == 0  # fmt: skip
    fact = {"id": "v", "kind": "verdict", "when": "2024", "summary": "Sentenced.",
            "sources": [{"source": "notice", "locator": "para:2",
                         "quote": "three years"}]}  # fmt: skip
    assert run("append", "-", input=json.dumps(fact)).exit_code == 0
    attached = run("source", "attach", "notice", str(second))
    assert attached.exit_code == 0, attached.output
    log = json.loads(run("log", "notice", "--format", "json").output)
    assert [r["event"] for r in log] == ["SourceCopyAttached", "SourceAdded"]
    result = json.loads(run("trace", "v", "--format", "json").output)
    (citation,) = result["events"][0]["citations"]
    old = hashlib.sha256(first.read_bytes()).hexdigest()
    assert citation["copy_sha256"] == old  # the copy current when it was written
    assert citation["copy_is_current"] is False
    assert citation["verified"] == "verified: the quote is at the locator"
    table = " ".join(run("trace", "v").output.split())  # as read, unwrapped
    assert f"copy sha256:{old}, the copy current when this was written" in table
    # a citation written now is checked against the new copy
    later = fact | {"id": "w", "sources": [{"source": "notice", "locator": "para:2",
                                            "quote": "three years"}]}  # fmt: skip
    refused = run("append", "-", input=json.dumps(later))
    assert refused.exit_code == 1
    assert "the quote does not occur in the stored copy" in refused.output
    assert run("verify").exit_code == 0  # both copies are still stored
