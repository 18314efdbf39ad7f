"""Bad input: a clear message naming the field, exit code 1, and no write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.store.app import Chronicle

Run = Callable[..., Result]


def toml_fact(**lines: str) -> bytes:
    fields = {
        "id": '"serebryakova-verdict-2023"',
        "kind": '"verdict"',
        "when": '"2023-05-30"',
        "summary": '"Sentenced to three years."',
        "participants": '[{ entity = "tatyana-serebryakova", role = "defendant" }]',
        "sources": '[{ source = "worldcrunch-kz-separatism", locator = "para:5" }]',
    } | lines
    return "\n".join(f"{k} = {v}" for k, v in fields.items() if v).encode()


def json_fact(make: Any, **changes: Any) -> bytes:
    data = make.fact_data(**changes)
    data.pop("details")
    return json.dumps(data, ensure_ascii=False).encode()


CASES: dict[str, tuple[Callable[[Any], bytes], str, str]] = {
    "malformed JSON": (
        lambda m: b'{"id": "x", "kind": ',
        "fact.json",
        "document: is not valid JSON: Input data was truncated",
    ),
    "malformed TOML": (
        lambda m: b'id = "x"\nkind = = "verdict"\n',
        "fact.toml",
        "document: is not valid TOML",
    ),
    "unknown kind": (
        lambda m: toml_fact(kind='"verdikt"'),
        "fact.toml",
        "kind: 'verdikt' is not allowed; one of: charge, detention, diplomatic, "
        "investigation, law_amendment, measurement, other, publication, "
        "sentence_change, statement, trial, verdict",
    ),
    "impossible day": (
        lambda m: json_fact(m, when="2023-02-30"),
        "fact.json",
        "when: '2023-02-30' is not a real day (February 2023 has 28 days)",
    ),
    "time of day in an interval": (
        lambda m: json_fact(m, when="2023-02-01T10:00:00/2023-03"),
        "fact.json",
        "when: interval '2023-02-01T10:00:00/2023-03' has a time of day",
    ),
    "impossible month": (
        lambda m: json_fact(m, when="2023-13"),
        "fact.json",
        "when: '2023-13' has month 13",
    ),
    "reversed interval": (
        lambda m: toml_fact(when='{ edtf = "2024-06/2023" }'),
        "fact.toml",
        "when: interval '2024-06/2023' ends before it starts",
    ),
    "no source at all": (
        lambda m: toml_fact(sources="[]"),
        "fact.toml",
        "sources: at least one citation is required",
    ),
    "sources key missing": (
        lambda m: toml_fact(sources=""),
        "fact.toml",
        "sources: is required",
    ),
    "unknown source": (
        lambda m: json_fact(
            m, sources=[{"source": "worldcrunch", "locator": "para:5"}]
        ),
        "fact.json",
        "sources[0].source: unknown source 'worldcrunch'; "
        "did you mean 'worldcrunch-kz-separatism'?",
    ),
    "unknown entity": (
        lambda m: json_fact(
            m, participants=[{"entity": "tatiana-serebriakova", "role": "defendant"}]
        ),
        "fact.json",
        "participants[0].entity: unknown entity 'tatiana-serebriakova'; "
        "did you mean 'tatyana-serebryakova'?",
    ),
    "oversized quote": (
        lambda m: json_fact(
            m,
            sources=[
                {
                    "source": "worldcrunch-kz-separatism",
                    "locator": "para:5",
                    "quote": "x" * 501,
                }
            ],
        ),
        "fact.json",
        "sources[0].quote: expected `str` of length <= 500",
    ),
    "bad locator": (
        lambda m: json_fact(
            m, sources=[{"source": "worldcrunch-kz-separatism", "locator": "p5"}]
        ),
        "fact.json",
        "sources[0].locator: must be para:N, page:N or chars:START-END",
    ),
    "non-UTF-8 file": (
        lambda m: toml_fact(summary='"Sentenced \xff"').replace(b"\xc3\xbf", b"\xff"),
        "fact.toml",
        "document: is not UTF-8 (byte",
    ),
}


@pytest.fixture
def store(seeded: Chronicle, store_path: str, make: Any) -> str:
    return store_path


@pytest.mark.parametrize("case", CASES)
def test_bad_fact_is_refused_and_the_store_is_unchanged(
    case: str, store: str, run: Run, make: Any, tmp_path: Path
) -> None:
    content, name, message = CASES[case]
    path = tmp_path / name
    path.write_bytes(content(make))
    before = make.dump(store)
    result = run("append", str(path))
    assert result.exit_code == 1, result.output
    assert f"Error: {message}" in result.output
    assert make.dump(store) == before


def test_duplicate_fact_id_is_refused_and_the_store_is_unchanged(
    store: str, run: Run, make: Any, tmp_path: Path
) -> None:
    path = tmp_path / "fact.toml"
    path.write_bytes(toml_fact())
    assert run("append", str(path)).exit_code == 0
    before = make.dump(store)
    path.write_bytes(toml_fact(summary='"Another text."'))
    result = run("append", str(path))
    assert result.exit_code == 1
    assert (
        "Error: fact 'serebryakova-verdict-2023' exists already; to change the "
        "fact, use `khronika correct serebryakova-verdict-2023 --set …`"
    ) in result.output
    assert make.dump(store) == before


def test_bad_import_line_is_refused_and_the_store_is_unchanged(
    store: str, run: Run, make: Any, tmp_path: Path
) -> None:
    good = {"type": "fact"} | make.fact_data(id="a")
    bad = {"type": "fact"} | make.fact_data(id="b", when="2023-13")
    path = tmp_path / "facts.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    before = make.dump(store)
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "Error: facts.jsonl line 2: when: '2023-13' has month 13" in result.output
    assert "This batch was not written. 0 earlier batch(es)" in result.output
    assert make.dump(store) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "correct",
                "serebryakova-verdict-2023",
                "--set",
                "when=2023-02-30",
                "--reason",
                "r",
                "--source",
                "worldcrunch-kz-separatism@para:5",
            ],
            "Error: when: '2023-02-30' is not a real day",
        ),
        (
            [
                "correct",
                "serebryakova-verdikt-2023",
                "--set",
                "summary=x",
                "--reason",
                "r",
                "--source",
                "worldcrunch-kz-separatism@para:5",
            ],
            "Error: unknown fact 'serebryakova-verdikt-2023'; "
            "did you mean 'serebryakova-verdict-2023'?",
        ),
        (
            [
                "retract",
                "serebryakova-verdict-2023",
                "--reason",
                "r",
                "--source",
                "nowhere@para:5",
            ],
            "Error: source[0].source: unknown source 'nowhere'",
        ),
        (
            [
                "correct",
                "serebryakova-verdict-2023",
                "--set",
                "colour=red",
                "--reason",
                "r",
                "--source",
                "worldcrunch-kz-separatism@para:5",
            ],
            "Error: colour: cannot be corrected",
        ),
    ],
)
def test_bad_amendment_is_refused_and_the_store_is_unchanged(
    store: str, run: Run, make: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    path = tmp_path / "fact.toml"
    path.write_bytes(toml_fact())
    assert run("append", str(path)).exit_code == 0
    before = make.dump(store)
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert make.dump(store) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["retract", "x", "--reason", "r", "--source", "no-locator"],
            "Invalid value for --source: 'no-locator': write SOURCE@LOCATOR",
        ),
        (
            [
                "correct",
                "x",
                "--set",
                "novalue",
                "--reason",
                "r",
                "--source",
                "a@para:1",
            ],
            "Invalid value for --set: 'novalue': write FIELD=VALUE",
        ),
        (
            ["entity", "add", "person", "Bad Slug", "--name", "X"],
            "Invalid value: id: must be a slug: lower-case letters a-z, digits",
        ),
        (
            [
                "source",
                "add",
                "s",
                "--title",
                "t",
                "--publisher",
                "p",
                "--url",
                "ftp://x",
                "--published",
                "2024",
            ],
            "Invalid value: url: must be an http:// or https:// URL",
        ),
    ],
)
def test_bad_usage_exits_2_and_names_the_option(
    store: str, run: Run, make: Any, args: list[str], message: str
) -> None:
    before = make.dump(store)
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert make.dump(store) == before


def test_source_with_impossible_date_is_refused(
    store: str, run: Run, make: Any
) -> None:
    before = make.dump(store)
    result = run(
        "source",
        "add",
        "s2",
        "--title",
        "t",
        "--publisher",
        "p",
        "--url",
        "https://x.org/",
        "--published",
        "2024-02-30",
    )
    assert result.exit_code == 1
    assert "Error: published: '2024-02-30' is not a real day" in result.output
    assert make.dump(store) == before


def test_writing_without_a_store_says_how_to_make_one(run: Run, tmp_path: Path) -> None:
    result = run("--store", str(tmp_path / "none.db"), "log")
    assert result.exit_code == 1
    assert "no store at" in result.output and "khronika init" in result.output
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x"}', "type: is required; one of: source, entity, fact"),
        ('{"type": "fct", "id": "x"}',
         "type: 'fct' is not allowed; one of: source, entity, fact"),
        ('{"type": "entity", "id": "x", "kind": "persn", "name": "X"}',
         "kind: 'persn' is not allowed; one of: court, group, law, organisation, "
         "person, place, platform"),
        ('{"type": "entity", "id": "X", "kind": "person", "name": "X"}',
         "id: must be a slug: lower-case letters a-z, digits and hyphens"),
    ],
)  # fmt: skip
def test_import_errors_say_the_rule_in_words(
    run: Run, tmp_path: Path, line: str, message: str
) -> None:
    assert run("init").exit_code == 0
    path = tmp_path / "in.jsonl"
    path.write_text(line + "\n")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert f"in.jsonl line 1: {message}" in result.output
    assert "regex" not in result.output


def test_a_demo_source_clash_names_the_fields_that_differ(run: Run) -> None:
    assert run("init").exit_code == 0
    assert run("source", "add", "worldcrunch-kz-separatism", "--title", "Another",
               "--publisher", "Worldcrunch", "--url", "https://example.org/a",
               "--published", "2024", "--language", "en").exit_code == 0  # fmt: skip
    result = run("demo")
    assert result.exit_code == 1
    assert (
        "source 'worldcrunch-kz-separatism' exists already with other values in "
        "title, url, published"
    ) in result.output
    assert "use `khronika source correct worldcrunch-kz-separatism --set" in (
        result.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["entity", "add", "person", "konaev", "--name", "K"],
         "entity 'konaev' exists already; to change the entity, use "
         "`khronika entity rename`"),
        (["source", "add", "worldcrunch-kz-separatism", "--title", "T",
          "--publisher", "P", "--url", "https://x.org", "--published", "2024",
          "--language", "en"],
         "source 'worldcrunch-kz-separatism' exists already; to change the "
         "source, use `khronika source correct worldcrunch-kz-separatism"),
    ],
)  # fmt: skip
def test_an_existing_id_error_names_the_command_for_its_kind(
    run: Run, args: list[str], message: str
) -> None:
    assert run("demo").exit_code == 0
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output


def test_a_person_is_not_a_place(demo: Run) -> None:
    fact = {
        "type": "fact",
        "id": "odd-place",
        "kind": "statement",
        "when": "2023",
        "summary": "s",
        "place": "tatyana-serebryakova",
        "sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:1"}],
    }
    result = demo("append", "-", input=json.dumps(fact))  # fmt: skip
    assert result.exit_code == 1
    assert "place: 'tatyana-serebryakova' is a person, not a place" in result.output


def test_a_field_set_twice_is_refused(demo: Run) -> None:
    result = demo("correct", "serebryakova-verdict-2023", "--set", "when=2023-06",
                  "--set", "when=2023-07", "--reason", "r",
                  "--source", "worldcrunch-kz-separatism@para:6")  # fmt: skip
    assert result.exit_code == 2 and "when is set twice" in result.output


def test_an_id_given_twice_in_one_import_names_the_first(run: Run) -> None:
    run("demo")
    fact = {
        "type": "fact",
        "id": "twice",
        "kind": "statement",
        "when": "2023",
        "summary": "s",
        "sources": [{"source": "worldcrunch-kz-separatism", "locator": "para:1"}],
    }
    other = fact | {"summary": "t"}
    lines = f"{json.dumps(fact)}\n{json.dumps(other)}\n"
    result = run("import", "-", input=lines)  # fmt: skip
    assert result.exit_code == 1
    assert "- line 2: fact 'twice' was given already at - line 1" in result.output
