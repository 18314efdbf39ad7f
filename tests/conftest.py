"""Shared fixtures: every test gets its own store and recorder name."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result

from khronika.cli.main import cli
from khronika.domain.documents import EntityDoc, FactDoc, SourceDoc
from khronika.store.app import Chronicle

SOURCE = "worldcrunch-kz-separatism"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--benchmarks", action="store_true", help="also run tests/benchmarks (slow)"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """tests/benchmarks is opt-in: pytest --benchmarks."""
    if "benchmarks" in collection_path.parts and not config.getoption("--benchmarks"):
        return True
    return None


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the store at a temporary path, so tests never touch user data."""
    store = tmp_path / "khronika.db"
    monkeypatch.setenv("KHRONIKA_STORE", str(store))
    monkeypatch.setenv("KHRONIKA_USER", "tester")
    monkeypatch.chdir(tmp_path)
    return store


@pytest.fixture
def store_path(isolated: Path) -> Path:
    return isolated


@pytest.fixture
def app(store_path: Path) -> Iterator[Chronicle]:
    chronicle = Chronicle(str(store_path), create=True)
    yield chronicle
    chronicle.close()


@pytest.fixture
def run() -> Callable[..., Result]:
    """Run the CLI in-process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


class FakeClock:
    """A system clock the test moves by hand, forwards or backwards."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Chronicle) -> FakeClock:
    fake = FakeClock()
    app.clock.source = fake
    app.clock.last = None
    return fake


class Make:
    """Builders of valid documents, with any field changed."""

    source = staticmethod(lambda **c: source_doc(**c))
    entity = staticmethod(lambda slug, kind="person", **c: entity_doc(slug, kind, **c))
    fact_data = staticmethod(lambda **c: fact_data(**c))
    fact = staticmethod(lambda **c: fact_doc(**c))
    dump = staticmethod(lambda path: dump(path))


@pytest.fixture
def make() -> type[Make]:
    return Make


def source_doc(**changes: Any) -> SourceDoc:
    fields: dict[str, Any] = {
        "id": SOURCE,
        "title": "Kazakhstan separatists and the Russian factor",
        "publisher": "Worldcrunch",
        "url": "https://worldcrunch.com/world-affairs/kazakhstan-separatists-russian/",
        "published": "2024-06-13/2024-07",
        "language": "en",
    }
    return msgspec.convert(fields | changes, SourceDoc)


def entity_doc(slug: str, kind: str = "person", **changes: Any) -> EntityDoc:
    fields = {"id": slug, "kind": kind, "name": slug.replace("-", " ").title()}
    return msgspec.convert(fields | changes, EntityDoc)


def fact_data(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": "serebryakova-verdict-2023",
        "kind": "verdict",
        "when": "2023-05-30",
        "summary": "A court sentenced her to three years for separatism.",
        "participants": [{"entity": "tatyana-serebryakova", "role": "defendant"}],
        "sources": [{"source": SOURCE, "locator": "para:5"}],
        "details": {
            "type": "verdict",
            "charges": ["kz-criminal-code-2014:180"],
            "sentences": [{"type": "prison", "term_months": 36, "regime": "medium"}],
        },
    }
    return fields | changes


def fact_doc(**changes: Any) -> FactDoc:
    return msgspec.convert(fact_data(**changes), FactDoc)


@pytest.fixture
def seeded(app: Chronicle) -> Chronicle:
    """A store with the source, a person and the criminal code."""
    app.add_source(source_doc(), "tester")
    app.register_entity(entity_doc("tatyana-serebryakova"), "tester")
    law = entity_doc(
        "kz-criminal-code-2014",
        "law",
        articles=[{"number": "180", "title": "Separatist activity"}],
    )
    app.register_entity(law, "tester")
    return app


def dump(path: Path) -> list[tuple[Any, ...]]:
    """Every stored event row, to prove a failed command changed nothing."""
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            "FROM stored_events ORDER BY rowid"
        ).fetchall()
