"""Stored text is shown, never obeyed: no markup, no control sequences.

A store written by an earlier version may hold text that today's input rules
refuse: square brackets that rich would read as markup (`[/b]`), terminal
control sequences (clear screen, window title, OSC 8 links) and bidi
overrides. The events here are saved directly, as such a version would have
saved them, and every read command must print them escaped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result

from khronika.cli.main import cli
from khronika.domain.documents import (
    Citation,
    EntityDoc,
    FactDoc,
    Participant,
    Sentence,
    VerdictDetails,
)
from khronika.domain.events import EntityRegistered, FactCorrected, FactRecorded
from khronika.domain.ids import stream_id
from khronika.store.app import Chronicle

SOURCE = "worldcrunch-kz-separatism"
NAME = "[/b]Evil \x1b[2J\u202eName[/i]"
BY = "[/b]mallory\x1b]0;owned\x07"
REASON = "see [/i] \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \u2066x\u2069"
SUMMARY = "Said [bold]things[/] \x1b[31mred\x9b and \u202eesrever"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u2066", "\u2069")


def _save_hostile(app: Chronicle) -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    person = "hostile-person"
    app.save(
        EntityRegistered(
            originator_id=stream_id("entity", person), originator_version=1,
            timestamp=at, recorded_by=BY, slug=person,
            doc=EntityDoc(id=person, kind="person", name=NAME),
        )
    )  # fmt: skip
    cite = [Citation(source=SOURCE, locator="para:6")]
    act = FactDoc(
        id="hostile-act", kind="statement", when="2022-01-10", summary=SUMMARY,
        sources=cite, participants=[Participant(entity=person, role="speaker")],
    )  # fmt: skip
    verdict = FactDoc(
        id="hostile-verdict", kind="verdict", when="2023-02-01", summary=SUMMARY,
        sources=cite, participants=[Participant(entity=person, role="defendant")],
        details=VerdictDetails(
            charges=["kz-criminal-code-2014:180"],
            sentences=[Sentence(type="prison", term_months=36)],
        ),
    )  # fmt: skip
    for i, doc in enumerate((act, verdict)):
        app.save(
            FactRecorded(
                originator_id=stream_id("fact", doc.id), originator_version=1,
                timestamp=at + timedelta(seconds=i + 1), recorded_by=BY,
                slug=doc.id, doc=doc,
            )
        )  # fmt: skip
    app.save(
        FactCorrected(
            originator_id=stream_id("fact", "hostile-verdict"), originator_version=2,
            timestamp=at + timedelta(seconds=5), recorded_by=BY,
            slug="hostile-verdict", changes={"summary": SUMMARY + " [/i]"},
            reason=REASON, sources=cite,
        )
    )  # fmt: skip


COMMANDS: list[list[str]] = [
    ["log"],
    ["log", "--format", "table"],
    ["log", "--format", "csv"],
    ["log", "--format", "json"],
    ["log", "hostile-verdict"],
    ["timeline"],
    ["timeline", "--format", "csv"],
    ["timeline", "--format", "json"],
    ["fact", "hostile-verdict"],
    ["fact", "hostile-verdict", "--format", "csv"],
    ["trace", "hostile-verdict"],
    ["trace", "hostile-verdict", "--format", "csv"],
    ["trace", "hostile-person"],
    ["person", "hostile-person"],
    ["person", "hostile-person", "--format", "csv"],
    ["person", "hostile-person", "--format", "json"],
    ["law", "kz-criminal-code-2014"],
    ["stats", "--by", "lag"],
    ["stats", "--by", "year"],
    ["diff", "--known-at", "2024-12-31", "--known-at", "2099-01-01"],
    ["diff", "--known-at", "2024-12-31", "--known-at", "2099-01-01", "--format",
     "csv"],
]  # fmt: skip


def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args, catch_exceptions=True)


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_stored_markup_and_control_text_is_printed_escaped(
    seeded: Chronicle, args: list[str]
) -> None:
    _save_hostile(seeded)
    result = invoke(args)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0, result.output
    for char in RAW:
        assert char not in result.output, (char, result.output)


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["log", "--format", "table"], "[/b]mallory"),
        (["diff", "--known-at", "2024-12-31", "--known-at", "2099-01-01"], "[/i]"),
        (["stats", "--by", "lag"], "[/b]Evil"),
        (["fact", "hostile-verdict"], "\\u001b]0;owned\\u0007"),
        (["person", "hostile-person"], "\\u202eName[/i]"),
    ],
)
def test_brackets_and_escapes_are_shown_as_text(
    seeded: Chronicle, args: list[str], shown: str
) -> None:
    _save_hostile(seeded)
    result = invoke(args)
    assert result.exit_code == 0, result.output
    flat = re.sub(r"\s+", "", result.output)
    assert re.sub(r"\s+", "", shown) in flat, result.output


def test_json_output_stays_valid_json_with_the_text_intact(seeded: Chronicle) -> None:
    import json

    _save_hostile(seeded)
    result = invoke(["person", "hostile-person", "--format", "json"])
    assert json.loads(result.output)["name"] == NAME


def test_an_error_echoing_input_escapes_it(seeded: Chronicle) -> None:
    result = invoke(["fact", "nope\x1b]0;owned\x07\u202e"])
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: unknown fact 'nope\\u001b]0;owned\\u0007\\u202e'"
    ), result.output
    for char in RAW:
        assert char not in result.output


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain", "plain"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\x1b[2J", "\\u001b[2J"),
        ("\r", "\\u000d"),
        ("\x7f\x85\x9f", "\\u007f\\u0085\\u009f"),
        ("\u202a\u202b\u202c\u202d\u202e", "\\u202a\\u202b\\u202c\\u202d\\u202e"),
        ("\u2066\u2067\u2068\u2069", "\\u2066\\u2067\\u2068\\u2069"),
        ("Татьяна ‹›", "Татьяна ‹›"),
    ],
)
def test_safe_escapes_controls_and_bidi_only(text: str, shown: str) -> None:
    from khronika.cli.output import safe

    assert safe(text) == shown
