"""A store written before today's input rules stays readable.

An earlier version accepted text that is refused now (a trailing newline in
a locator, control characters, blank text). Such events must still decode,
or one old record would make the whole store unreadable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from khronika.cli.main import cli
from khronika.domain.aggregates import Entity
from khronika.domain.documents import Citation, FactDoc, When
from khronika.domain.events import EntityAliasAdded, FactCorrected, FactRecorded
from khronika.domain.ids import stream_id
from khronika.store.app import Chronicle
from khronika.store.codec import decode

SOURCE = "worldcrunch-kz-separatism"


def _old_events(app: Chronicle) -> None:
    """Events as an earlier version could have stored them: no checks."""
    at = datetime(2025, 1, 1, tzinfo=UTC)
    doc = FactDoc(
        id="old-fact", kind="statement",
        when=When(edtf="2023", wording="in 2023\n"),
        summary="Said \x1b[2Jthings", place=None,
        sources=[Citation(source=SOURCE, locator="para:5\n", quote=" ")],
    )  # fmt: skip
    fid = stream_id("fact", "old-fact")
    common: dict[str, Any] = {"timestamp": at, "recorded_by": "old", "slug": "old-fact"}
    app.save(FactRecorded(originator_id=fid, originator_version=1, doc=doc, **common))
    app.save(
        FactCorrected(
            originator_id=fid, originator_version=2, changes={"summary": "   "},
            reason="blank\nnow", sources=[Citation(source=SOURCE, locator="para:1\n")],
            **common,
        )
    )  # fmt: skip
    person = app.get(Entity, "tatyana-serebryakova").version
    app.save(
        EntityAliasAdded(
            originator_id=stream_id("entity", "tatyana-serebryakova"),
            originator_version=person + 1, alias="\u202eavokayrbereS",
            timestamp=at, recorded_by="old", slug="tatyana-serebryakova",
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["log"],
        ["log", "old-fact"],
        ["log", "--format", "json"],
        ["fact", "old-fact"],
        ["timeline", "--format", "json"],
        ["person", "tatyana-serebryakova", "--format", "json"],
        ["trace", "old-fact", "--format", "json"],
        ["verify"],
    ],
)
def test_events_stored_under_looser_rules_are_still_read(
    unsigned_seeded: Chronicle, args: list[str]
) -> None:
    _old_events(unsigned_seeded)
    result = CliRunner().invoke(cli, args, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert result.exit_code == 0, result.output


def test_an_old_event_decodes_to_what_was_stored(unsigned_seeded: Chronicle) -> None:
    _old_events(unsigned_seeded)
    first = next(iter(unsigned_seeded.notifications(start=4)))
    event = decode(first.topic, first.state)
    assert isinstance(event, FactRecorded)
    assert event.doc.summary == "Said \x1b[2Jthings"
    assert event.doc.sources[0].locator == "para:5\n"
    assert isinstance(event.doc.when, When)
