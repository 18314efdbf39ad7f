"""References are checked for kind and sense, on append, import and correct."""

from __future__ import annotations

import io
from typing import Any

import msgspec
import pytest

from khronika.domain.documents import Citation
from khronika.domain.errors import KhronikaError, ValidationError
from khronika.store.app import Chronicle
from khronika.store.importer import Importer, read_lines

CITED = [Citation(source="worldcrunch-kz-separatism", locator="para:4")]
STATEMENT = {
    "id": "a-statement",
    "kind": "statement",
    "details": None,
    "participants": [{"entity": "tatyana-serebryakova", "role": "speaker"}],
}


def change(verdict: str) -> dict[str, Any]:
    return {
        "id": "an-appeal",
        "kind": "sentence_change",
        "details": {"type": "sentence_change", "change": "appeal", "verdict": verdict},
    }


def amendment(law: str, **penalty: int) -> dict[str, Any]:
    return {
        "id": "an-amendment",
        "kind": "law_amendment",
        "participants": [],
        "details": {
            "type": "law_amendment",
            "law": law,
            "penalties_after": [{"conduct": "separatism", **penalty}],
        },
    }


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        (change("a-statement"), "details.verdict",
         "'a-statement' is a statement, not a verdict"),
        (amendment("tatyana-serebryakova"), "details.law",
         "'tatyana-serebryakova' is a person, not a law"),
        (amendment("kz-criminal-code-2014", min_term_months=60, max_term_months=36),
         "details.penalties_after[0].min_term_months",
         "the minimum term (60 months) exceeds the maximum (36)"),
        ({"sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:0"}]},
         "sources[0].locator", "'para:0': paragraphs are counted from 1"),
        ({"sources": [{"source": "worldcrunch-kz-separatism", "locator": "page:3-2"}]},
         "sources[0].locator", "range 'page:3-2' ends before it starts"),
    ],
)  # fmt: skip
def test_append_refuses_a_reference_of_the_wrong_kind_or_without_sense(
    seeded: Chronicle, make: Any, changes: dict[str, Any], field: str, problem: str
) -> None:
    seeded.append_fact(make.fact(**STATEMENT), "tester")
    with pytest.raises(ValidationError) as refused:
        seeded.append_fact(make.fact(**changes), "tester")
    assert (refused.value.field, refused.value.problem.split(":")[0]) == (
        field,
        problem.split(":")[0],
    )


def test_a_sentence_change_may_name_a_verdict(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(make.fact(), "tester")
    seeded.append_fact(make.fact(**change("serebryakova-verdict-2023")), "tester")


def test_correct_refuses_pointing_a_sentence_change_at_a_statement(
    seeded: Chronicle, make: Any
) -> None:
    seeded.append_fact(make.fact(), "tester")
    seeded.append_fact(make.fact(**STATEMENT), "tester")
    seeded.append_fact(make.fact(**change("serebryakova-verdict-2023")), "tester")
    details = change("a-statement")["details"]
    with pytest.raises(ValidationError, match="is a statement, not a verdict"):
        seeded.correct("an-appeal", {"details": details}, "typo", CITED, "tester")


def test_import_refuses_a_sentence_change_of_a_statement_in_the_same_bundle(
    seeded: Chronicle, make: Any
) -> None:
    data = b"".join(
        msgspec.json.encode({"type": "fact"} | make.fact_data(**fact)) + b"\n"
        for fact in (STATEMENT, change("a-statement"))
    )
    lines = read_lines([("in.jsonl", io.BytesIO(data))])
    with pytest.raises(KhronikaError, match="is a statement, not a verdict"):
        Importer(seeded, "ann").run(lines)
