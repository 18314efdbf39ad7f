"""End to end through the CLI: the maintainer's daily work."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from khronika.cli.write import EXAMPLE

Run = Callable[..., Result]
SOURCE = "worldcrunch-kz-separatism"
EXAMPLE_SOURCE = "my-worldcrunch-analysis"  # the help example's own slug


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def the_help_example(run: Run, tmp_path: Path) -> None:
    """Run the commands `khronika append --help` shows, in a fresh store."""
    lines = EXAMPLE.replace("\\\n", " ").replace("\b", "").splitlines()
    toml = [line.strip() for line in lines if " = " in line and "khronika" not in line]
    (tmp_path / "fact.toml").write_text("\n".join(toml) + "\n")
    for line in lines:
        command = line.strip()
        if command.startswith("khronika "):
            import shlex

            ok(run(*shlex.split(command)[1:]))


def test_the_append_help_example_works_in_a_fresh_store(
    run: Run, tmp_path: Path
) -> None:
    the_help_example(run, tmp_path)
    out = ok(run("log", "--oldest-first"))
    assert out.count("v1  ") == 4  # the first admin's registration too
    assert "fact serebryakova-chatroulette-2021  v1  FactRecorded" in out
    assert "Recorded: " in out and " by tester" in out


def test_append_reads_json_from_stdin(run: Run, tmp_path: Path) -> None:
    the_help_example(run, tmp_path)
    fact = {
        "id": "second-fact",
        "kind": "other",
        "when": "2023-24",
        "summary": "A fact in winter 2023/24.",
        "sources": [{"source": EXAMPLE_SOURCE, "locator": "para:2"}],
    }
    out = ok(run("append", "-", input=json.dumps(fact)))
    assert out.startswith("recorded fact second-fact (event at ")


def test_correct_and_retract_are_new_events_with_reason_and_recorder(
    run: Run, tmp_path: Path, maintainer: Callable[..., Run]
) -> None:
    the_help_example(run, tmp_path)
    fact = "serebryakova-chatroulette-2021"
    bob, carol = maintainer("bob"), maintainer("carol")
    out = ok(
        bob(
            "correct",
            fact,
            "--set",
            "when=2021-09~",
            "--reason",
            "The month is approximate",
            "--source",
            f"{EXAMPLE_SOURCE}@para:6",
        )
    )
    assert out.startswith(f"corrected {fact} (version 2, ")
    out = ok(
        carol(
            "retract",
            fact,
            "--reason",
            "Duplicate entry",
            "--source",
            f"{EXAMPLE_SOURCE}@para:6",
            "--quote",
            "Take our Petropavlovsk",
        )
    )
    assert out.startswith(f"retracted {fact} (version 3, ")
    log = ok(run("log", fact))
    blocks = log.strip().split("\n\n")
    assert blocks[0].splitlines()[0] == f"event 8  fact {fact}  v3  FactRetracted"
    assert " by carol" in blocks[0] and "Reason:   Duplicate entry" in blocks[0]
    assert f'Source:   {EXAMPLE_SOURCE}@para:6 "Take our Petropavlovsk"' in blocks[0]
    assert '"edtf": "2021-09~"' in blocks[1] and " by bob" in blocks[1]
    assert '"wording": "in September 2021"' in blocks[1]  # the wording is kept
    assert "FactRecorded" in blocks[2] and " by tester" in blocks[2]


def test_log_json_is_the_full_event(run: Run, tmp_path: Path) -> None:
    the_help_example(run, tmp_path)
    rows = json.loads(ok(run("log", "--format", "json", "--oldest-first")))
    assert [r["event"] for r in rows] == [
        "MaintainerAdded",
        "SourceAdded",
        "EntityRegistered",
        "FactRecorded",
    ]
    assert rows[0]["recorded_by"].startswith("khronika/")  # the store's own key
    rows = rows[1:]
    assert rows[1]["details"]["doc"]["aliases"] == [
        "Татьяна Серебрякова",
        "Tatiana Serebryakova",
    ]
    assert [r["position"] for r in rows] == [2, 3, 4]
    assert all(r["recorded_by"] == "tester" for r in rows)


def test_entity_alias_rename_and_merge(run: Run, tmp_path: Path) -> None:
    the_help_example(run, tmp_path)
    ok(run("entity", "add", "person", "t-serebryakova", "--name", "T. Serebryakova"))
    assert "added alias" in ok(
        run("entity", "alias", "tatyana-serebryakova", "Serebriakova")
    )
    ok(run("entity", "rename", "tatyana-serebryakova", "Tatiana Serebryakova"))
    ok(
        run(
            "entity",
            "merge",
            "t-serebryakova",
            "tatyana-serebryakova",
            "--reason",
            "Same person",
        )
    )
    out = ok(run("log", "Serebriakova", "--format", "csv"))
    assert out.splitlines()[1:] and "EntityRenamed" in out
    again = run(
        "entity", "merge", "t-serebryakova", "tatyana-serebryakova", "--reason", "again"
    )
    assert again.exit_code == 1
    assert "already merged into 'tatyana-serebryakova'" in again.output


def test_recorder_must_be_known_for_writes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(run("init"))
    monkeypatch.delenv("KHRONIKA_USER")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "none"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    result = run("entity", "add", "place", "astana", "--name", "Astana")
    assert result.exit_code == 2
    assert "who is recording? Pass --as NAME, set KHRONIKA_USER" in result.output


def test_store_option_beats_the_environment(run: Run, tmp_path: Path) -> None:
    other = tmp_path / "sub" / "other.db"
    out = ok(run("--store", str(other), "init"))
    assert out.startswith(f"{other}: created an empty store")
    assert other.exists() and not (tmp_path / "khronika.db").exists()


def _fact(run: Run, fact: str) -> Any:
    return json.loads(ok(run("fact", fact, "--format", "json")))["fact"]


def test_a_correction_cites_its_source_on_the_fact(run: Run) -> None:
    ok(run("demo"))
    fact = "serebryakova-verdict-2023"
    before = _fact(run, fact)["sources"]
    ok(run("correct", fact, "--set", "when=2023-05-31", "--reason", "Checked",
           "--source", f"{SOURCE}@para:9"))  # fmt: skip
    after = _fact(run, fact)
    assert after["sources"] == [
        *before, {"source": SOURCE, "locator": "para:9", "quote": None}]  # fmt: skip
    timeline = json.loads(ok(run("timeline", "--person", "tatyana-serebryakova",
                                 "--format", "json")))["facts"]  # fmt: skip
    assert [f["sources"] for f in timeline if f["id"] == fact] == [after["sources"]]
    # a correction that sets the sources says exactly what they are
    only = json.dumps([{"source": SOURCE, "locator": "para:6"}])
    ok(run("correct", fact, "--set", f"sources={only}", "--reason", "One is enough",
           "--source", f"{SOURCE}@para:7"))  # fmt: skip
    assert [c["locator"] for c in _fact(run, fact)["sources"]] == ["para:6"]


def test_a_plain_date_correction_keeps_the_wording(run: Run) -> None:
    ok(run("demo"))
    fact = "potopa-verdict-2022"
    wording = _fact(run, fact)["when"]["wording"]
    assert wording
    ok(run("correct", fact, "--set", "when=2022-05", "--reason", "Checked",
           "--source", f"{SOURCE}@para:7"))  # fmt: skip
    when = _fact(run, fact)["when"]
    assert (when["edtf"], when["wording"]) == ("2022-05", wording)
    new = json.dumps({"edtf": "2023-06", "wording": "in June"})
    ok(run("correct", fact, "--set", f"when={new}", "--reason", "Checked again",
           "--source", f"{SOURCE}@para:7"))  # fmt: skip
    when = _fact(run, fact)["when"]
    assert (when["edtf"], when["wording"]) == ("2023-06", "in June")


def test_the_demo_loads_after_the_help_example(run: Run, tmp_path: Path) -> None:
    the_help_example(run, tmp_path)
    out = ok(run("demo"))
    assert "added 2 sources, 63 entities, 50 facts" in out  # the person was there


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["entity", "alias", "tatyana-serebryakova", "andrei-astakhov"],
         "alias: 'andrei-astakhov' already names 'andrei-astakhov'"),
        (["entity", "alias", "tatyana-serebryakova", "ANDREI ASTAKHOV"],
         "alias: 'ANDREI ASTAKHOV' already names 'andrei-astakhov'"),
        (["entity", "rename", "tatyana-serebryakova", "Конаев"],
         "name: 'Конаев' already names 'konaev'"),
        (["entity", "add", "person", "someone", "--name", "Someone",
          "--alias", "Qonaev"], "name: 'Qonaev' already names 'konaev'"),
    ],
)  # fmt: skip
def test_a_name_that_names_another_entity_is_refused(
    run: Run, args: list[str], message: str
) -> None:
    ok(run("demo"))
    before = ok(run("log", "--format", "json"))
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert ok(run("log", "--format", "json")) == before  # nothing written
    person = json.loads(ok(run("person", "andrei-astakhov", "--format", "json")))
    assert person["id"] == "andrei-astakhov"


def test_a_clash_in_an_older_store_is_an_error_naming_both(
    run: Run, store_path: str
) -> None:
    from khronika.domain import aggregates as agg
    from khronika.domain.aggregates import Entity
    from khronika.store import attest
    from khronika.store.app import Chronicle

    ok(run("demo"))
    app = Chronicle(store_path)  # an older version wrote these aliases unchecked
    app.hand = attest.load_hand()  # signs as the CLI would
    for alias in ("andrei-astakhov", "Andrei Astakhov"):
        entity = app.get(Entity, "tatyana-serebryakova")
        app._save_next(agg.add_alias(entity, alias, app.clock.now(), "old"))
    app.close()
    by_slug = json.loads(ok(run("person", "andrei-astakhov", "--format", "json")))
    assert by_slug["id"] == "andrei-astakhov"  # a slug is never ambiguous
    result = run("person", "Andrei Astakhov")
    assert result.exit_code == 1
    assert "'Andrei Astakhov' names more than one entity: " in result.output
    assert "'andrei-astakhov'" in result.output
    assert "'tatyana-serebryakova'" in result.output
