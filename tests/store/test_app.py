"""The application over SQLite: commands, references, record time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from khronika.domain.aggregates import Entity, Fact
from khronika.domain.documents import Citation
from khronika.domain.errors import (
    ConflictError,
    DuplicateError,
    NotFoundError,
    StoreError,
)
from khronika.domain.events import FactRecorded
from khronika.store import attest
from khronika.store.app import Chronicle

CITE = [Citation(source="worldcrunch-kz-separatism", locator="para:5")]


def test_fact_round_trips_through_the_store(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(make.fact(), "ann")
    fact = seeded.get(Fact, "serebryakova-verdict-2023")
    assert fact.doc == make.fact()
    assert fact.version == 1 and not fact.retracted


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"participants": [{"entity": "tatyana-serebryakva", "role": "defendant"}]},
            "participants[0].entity: unknown entity 'tatyana-serebryakva'; "
            "did you mean 'tatyana-serebryakova'?",
        ),
        (
            {"sources": [{"source": "worldcrunch", "locator": "para:1"}]},
            "sources[0].source: unknown source 'worldcrunch'; "
            "did you mean 'worldcrunch-kz-separatism'?",
        ),
        (
            {"place": "petropavlovsk"},
            "place: unknown entity 'petropavlovsk'",
        ),
    ],
)
def test_unknown_reference_is_refused_with_suggestions(
    seeded: Chronicle, make: Any, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(NotFoundError) as raised:
        seeded.append_fact(make.fact(**changes), "ann")
    assert str(raised.value) == message


def test_unknown_article_suggests_the_laws_articles(
    seeded: Chronicle, make: Any
) -> None:
    details = make.fact_data()["details"] | {"charges": ["kz-criminal-code-2014:181"]}
    with pytest.raises(NotFoundError, match="did you mean 'kz-criminal-code-2014:180'"):
        seeded.append_fact(make.fact(details=details), "ann")


def test_entity_is_found_by_alias_in_suggestions(seeded: Chronicle, make: Any) -> None:
    seeded.add_alias("tatyana-serebryakova", "Серебрякова", "ann")
    with pytest.raises(NotFoundError, match="did you mean 'tatyana-serebryakova'"):
        seeded.get(Entity, "серебрякова")


def test_duplicate_fact_id_is_refused(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(make.fact(), "ann")
    with pytest.raises(DuplicateError, match="exists already"):
        seeded.append_fact(make.fact(summary="Another summary."), "bob")
    assert seeded.get(Fact, "serebryakova-verdict-2023").doc == make.fact()


def test_concurrent_correction_loses_with_a_conflict_naming_the_version(
    seeded: Chronicle, make: Any, store_path: str
) -> None:
    seeded.append_fact(make.fact(), "ann")
    other = Chronicle(store_path)
    other.hand = attest.load_hand()  # signs as the CLI would
    stale = other.get(Fact, "serebryakova-verdict-2023")
    seeded.correct("serebryakova-verdict-2023", {"summary": "A."}, "r", CITE, "ann")
    other.get = lambda cls, slug: stale  # type: ignore[method-assign,assignment,return-value]
    with pytest.raises(ConflictError, match="now at version 2"):
        other.correct("serebryakova-verdict-2023", {"summary": "B."}, "r", CITE, "bob")
    assert seeded.get(Fact, "serebryakova-verdict-2023").doc.summary == "A."


def test_record_time_never_runs_backwards_even_if_the_clock_does(
    seeded: Chronicle, make: Any, clock: Any
) -> None:
    first = seeded.append_fact(make.fact(), "ann")
    clock.move(hours=-5)
    second = seeded.correct(
        "serebryakova-verdict-2023", {"summary": "A."}, "r", CITE, "ann"
    )
    assert second.timestamp > first.timestamp
    assert first.timestamp.utcoffset() is not None


def test_a_reopened_store_continues_after_its_last_record_time(
    seeded: Chronicle, make: Any, clock: Any, store_path: str
) -> None:
    first = seeded.append_fact(make.fact(), "ann")
    reopened = Chronicle(store_path)
    reopened.hand = attest.load_hand()  # signs as the CLI would
    reopened.clock.source = lambda: first.timestamp.replace(year=2001)
    later = reopened.retract("serebryakova-verdict-2023", "r", CITE, "ann")
    assert later.timestamp > first.timestamp


def test_history_lists_events_with_log_positions(seeded: Chronicle, make: Any) -> None:
    seeded.append_fact(make.fact(), "ann")
    seeded.retract("serebryakova-verdict-2023", "wrong", CITE, "bob")
    history = seeded.history("fact", "serebryakova-verdict-2023")
    assert [p for p, _ in history] == [5, 6]  # after the first admin's and seeds
    assert isinstance(history[0][1], FactRecorded)
    # the key decides who recorded, not the name a caller passes
    assert [e.recorded_by for _, e in history] == ["tester", "tester"]


def test_missing_store_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store at .*khronika init"):
        Chronicle(str(tmp_path / "nowhere.db"))


def test_foreign_sqlite_file_is_not_taken_for_a_store(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="is not a khronika store"):
        Chronicle(str(path))


def test_store_identity_is_kept_across_init(store_path: str) -> None:
    first = Chronicle(store_path, create=True).meta["store_id"]
    assert Chronicle(store_path, create=True).meta["store_id"] == first
