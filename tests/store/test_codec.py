"""msgspec encoding of stored events, and upcasting old ones."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from khronika.domain import aggregates as agg
from khronika.domain.events import Event
from khronika.store import codec
from khronika.store.codec import MsgspecMapper, NullTranscoder


def test_every_event_survives_the_round_trip(make: Any) -> None:
    mapper = MsgspecMapper(transcoder=NullTranscoder())
    t = datetime(2030, 1, 1, tzinfo=UTC)
    fact = agg.project(None, [agg.record_fact(make.fact(), t, "ann")])
    assert isinstance(fact, agg.Fact)
    cite = make.fact().sources
    events: list[Event] = [
        agg.add_source(make.source(), t, "ann"),
        agg.register_entity(make.entity("x", aliases=["Икс"]), t, "ann"),
        agg.record_fact(make.fact(), t, "ann"),
        agg.correct(fact, {"when": {"edtf": "2023-05~"}}, "why", cite, t, "bob"),
        agg.retract(fact, "why", cite, t, "bob"),
    ]
    for event in events:
        stored = mapper.to_stored_event(event)
        assert stored.topic == get_topic(type(event))
        assert stored.topic.startswith("khronika.domain.events:")
        assert mapper.to_domain_event(stored) == event


def test_state_is_compact_msgspec_json(make: Any) -> None:
    t = datetime(2030, 1, 1, 12, tzinfo=UTC)
    stored = MsgspecMapper(NullTranscoder()).to_stored_event(
        agg.add_source(make.source(), t, "ann")
    )
    decoded = msgspec.json.decode(stored.state)
    assert decoded["timestamp"] == "2030-01-01T12:00:00Z"
    assert decoded["doc"]["id"] == "worldcrunch-kz-separatism"
    assert b" " not in stored.state.split(b'"doc"')[0]


class Renamed(Event, frozen=True, kw_only=True):
    """A test event whose field `who` was once called `person`."""

    who: str
    certain: bool


def _person_to_who(state: dict[str, Any]) -> dict[str, Any]:
    state["who"] = state.pop("person")
    return state


def _certain_by_default(state: dict[str, Any]) -> dict[str, Any]:
    state.setdefault("certain", True)
    return state


@pytest.fixture
def upcasters() -> Iterator[None]:
    topic = get_topic(Renamed)
    codec.UPCASTERS[topic] = [_person_to_who, _certain_by_default]
    yield
    del codec.UPCASTERS[topic]


def test_old_stored_event_is_upcast_to_the_current_schema(upcasters: None) -> None:
    # As written by class_version 1: no class_version key, old field name.
    old_state = (
        b'{"originator_id":"%s","originator_version":1,'
        b'"timestamp":"2024-01-01T00:00:00Z","recorded_by":"ann",'
        b'"slug":"x","person":"tatyana-serebryakova"}' % str(uuid4()).encode()
    )
    stored = StoredEvent(uuid4(), 1, get_topic(Renamed), old_state)
    event = MsgspecMapper(NullTranscoder()).to_domain_event(stored)
    assert isinstance(event, Renamed)
    assert (event.who, event.certain) == ("tatyana-serebryakova", True)


def test_new_events_are_stamped_with_their_class_version(upcasters: None) -> None:
    event = Renamed(
        originator_id=uuid4(),
        originator_version=1,
        timestamp=datetime(2030, 1, 1, tzinfo=UTC),
        recorded_by="ann",
        slug="x",
        who="y",
        certain=False,
    )
    mapper = MsgspecMapper(NullTranscoder())
    stored = mapper.to_stored_event(event)
    assert msgspec.json.decode(stored.state)["class_version"] == 3
    assert mapper.to_domain_event(stored) == event


def test_unknown_topic_is_a_clear_store_error() -> None:
    stored = StoredEvent(uuid4(), 1, "khronika.domain.events:Gone", b"{}")
    with pytest.raises(Exception, match="does not resolve"):
        MsgspecMapper(NullTranscoder()).to_domain_event(stored)
