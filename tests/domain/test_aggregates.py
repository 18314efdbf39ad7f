"""The domain without a database: commands, rules and projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from khronika.domain import aggregates as agg
from khronika.domain.aggregates import Entity, Fact
from khronika.domain.documents import Citation, FactDoc
from khronika.domain.errors import EdtfError, ValidationError
from khronika.domain.events import FactCorrected, FactRecorded, FactRetracted
from khronika.domain.ids import stream_id

T0 = datetime(2030, 1, 1, tzinfo=UTC)
CITE = [Citation(source="worldcrunch-kz-separatism", locator="para:5")]


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def recorded(make: Any, **changes: Any) -> Fact:
    state = agg.project(None, [agg.record_fact(make.fact(**changes), T0, "ann")])
    assert isinstance(state, Fact)
    return state


def test_recorded_fact_carries_recorder_time_and_derived_stream_id(make: Any) -> None:
    event = agg.record_fact(make.fact(), T0, "ann")
    assert isinstance(event, FactRecorded)
    assert event.originator_id == stream_id("fact", "serebryakova-verdict-2023")
    assert (event.originator_version, event.timestamp, event.recorded_by) == (
        1,
        T0,
        "ann",
    )


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        ({"sources": []}, "sources", "at least one citation"),
        ({"when": "2023-02-30"}, "when", "not a real day"),
        ({"when": "2023-13"}, "when", "month 13"),
        ({"when": "2024/2023"}, "when", "ends before it starts"),
        (
            {"when": {"edtf": "2023-21", "anchor": "2024-99"}},
            "when.anchor",
            "2024-99",
        ),
        ({"kind": "statement"}, "details", "do not fit a fact of kind 'statement'"),
        (
            {
                "participants": [
                    {"entity": "a", "role": "speaker"},
                    {"entity": "a", "role": "speaker"},
                ]
            },
            "participants[1]",
            "listed twice",
        ),
        (
            {
                "sources": [
                    {"source": "worldcrunch-kz-separatism", "locator": "chars:90-10"}
                ]
            },
            "sources[0].locator",
            "ends before it starts",
        ),
    ],
)
def test_fact_breaking_a_rule_is_refused_naming_the_field(
    make: Any, changes: dict[str, Any], field: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        agg.record_fact(make.fact(**changes), T0, "ann")
    assert raised.value.field == field


def test_sentence_for_someone_not_on_trial_is_refused(make: Any) -> None:
    details = make.fact_data()["details"]
    details["sentences"][0]["defendant"] = "someone-else"
    with pytest.raises(ValidationError, match="not a defendant") as raised:
        agg.record_fact(make.fact(details=details), T0, "ann")
    assert raised.value.field == "details.sentences[0].defendant"


def test_bad_edtf_is_an_edtf_error(make: Any) -> None:
    with pytest.raises(EdtfError):
        agg.record_fact(make.fact(when="yesterday"), T0, "ann")


def test_correction_changes_only_the_named_fields(make: Any) -> None:
    fact = recorded(make)
    event = agg.correct(fact, {"when": "2023-05-31"}, "typo", CITE, at(1), "bob")
    assert isinstance(event, FactCorrected)
    after = agg.apply(fact, event)
    assert isinstance(after, Fact)
    assert after.doc.when == "2023-05-31"
    assert after.doc.summary == fact.doc.summary
    assert (after.version, after.modified_on, after.created_on) == (2, at(1), T0)


@pytest.mark.parametrize(
    ("changes", "reason", "sources", "match"),
    [
        ({"id": "other"}, "r", CITE, "cannot be corrected"),
        ({}, "r", CITE, "at least one field"),
        ({"when": "2023-05-30"}, "r", CITE, "equal the current"),
        ({"when": "2023-05-31"}, "  ", CITE, "reason"),
        ({"when": "2023-05-31"}, "r", [], "at least one citation"),
        ({"when": "2023-02-30"}, "r", CITE, "not a real day"),
        ({"kind": "nonsense"}, "r", CITE, "'nonsense' is not allowed; one of: charge,"),
    ],
)
def test_invalid_correction_is_refused(
    make: Any,
    changes: dict[str, Any],
    reason: str,
    sources: list[Citation],
    match: str,
) -> None:
    with pytest.raises(ValidationError, match=match):
        agg.correct(recorded(make), changes, reason, sources, at(1), "bob")


def test_retracted_fact_stays_with_its_content_and_refuses_more_changes(
    make: Any,
) -> None:
    fact = recorded(make)
    event = agg.retract(fact, "wrong person", CITE, at(1), "bob")
    assert isinstance(event, FactRetracted)
    after = agg.apply(fact, event)
    assert isinstance(after, Fact)
    assert after.retracted and after.doc == fact.doc
    with pytest.raises(ValidationError, match="retracted already"):
        agg.retract(after, "again", CITE, at(2), "bob")
    with pytest.raises(ValidationError, match="retracted already"):
        agg.correct(after, {"summary": "x"}, "r", CITE, at(2), "bob")


def test_entity_rename_keeps_the_old_name_as_alias(make: Any) -> None:
    entity = agg.project(None, [agg.register_entity(make.entity("konaev"), T0, "a")])
    assert isinstance(entity, Entity)
    renamed = agg.apply(entity, agg.rename(entity, "Qonaev", "new spelling", T0, "a"))
    assert isinstance(renamed, Entity)
    assert renamed.doc.name == "Qonaev"
    assert renamed.doc.aliases == ["Konaev"]


def test_alias_twice_and_merge_into_self_are_refused(make: Any) -> None:
    entity = agg.project(None, [agg.register_entity(make.entity("a-b"), T0, "a")])
    assert isinstance(entity, Entity)
    with pytest.raises(ValidationError, match="already has"):
        agg.add_alias(entity, "A B", T0, "a")
    with pytest.raises(ValidationError, match="into itself"):
        agg.merge(entity, entity, "same", T0, "a")


def test_merge_across_kinds_is_refused(make: Any) -> None:
    person = agg.project(None, [agg.register_entity(make.entity("x"), T0, "a")])
    place = agg.project(None, [agg.register_entity(make.entity("y", "place"), T0, "a")])
    assert isinstance(person, Entity) and isinstance(place, Entity)
    with pytest.raises(ValidationError, match="cannot merge a person into a place"):
        agg.merge(person, place, "r", T0, "a")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"articles": [{"number": "1", "title": "t"}]}, "only a law has articles"),
        ({"aliases": ["X", "X"]}, "listed twice"),
    ],
)
def test_entity_rules(make: Any, changes: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        agg.register_entity(make.entity("x", **changes), T0, "a")


def test_when_may_be_text_or_a_table_with_wording_and_anchor() -> None:
    raw = {
        "id": "x",
        "kind": "statement",
        "summary": "s",
        "sources": [{"source": "s", "locator": "para:1"}],
    }
    plain = msgspec.convert(raw | {"when": "2023-21"}, FactDoc)
    table = msgspec.convert(
        raw | {"when": {"edtf": "2023-21", "wording": "last spring"}}, FactDoc
    )
    assert plain.date.edtf == table.date.edtf == "2023-21"
    assert table.date.wording == "last spring"
