"""Shared fixtures: every test gets its own store and recorder name."""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner, Result

from khronika.cli.main import cli
from khronika.domain.documents import EntityDoc, FactDoc, SourceDoc
from khronika.store import attest, signing
from khronika.store import checkpoint as cp
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


STORE_FIXTURES = {"app", "run", "store_path", "seeded", "demo", "unsigned_seeded"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses a store runs on SQLite and on PostgreSQL."""
    names = set(metafunc.fixturenames)
    if (
        STORE_FIXTURES & names
        and "postgres_db" not in names  # the test picks its stores itself
        and not any(
            m.name == "sqlite_only"
            or (m.name == "parametrize" and "store_kind" in str(m.args[0]))
            for m in metafunc.definition.iter_markers()
        )
    ):
        metafunc.parametrize("store_kind", ["sqlite", "postgres"], indirect=True)


@pytest.fixture
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = getattr(request, "param", "sqlite")
    return kind


@pytest.fixture(autouse=True)
def isolated(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    store_kind: str,
) -> str:
    """Point the store (and its key) at throwaway places, never at user data."""
    location = str(tmp_path / "khronika.db")
    if store_kind == "postgres":
        location = request.getfixturevalue("postgres_db")
    monkeypatch.setenv("KHRONIKA_STORE", location)
    monkeypatch.setenv("KHRONIKA_KEY", str(tmp_path / "khronika.key"))
    monkeypatch.setenv("KHRONIKA_USER", "tester")
    # the maintainer's key folder too, never the user's ~/.config/khronika
    monkeypatch.setenv("KHRONIKA_CONFIG", str(tmp_path / "config"))
    monkeypatch.delenv("KHRONIKA_MAINTAINER_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return location


@pytest.fixture
def store_path(isolated: str) -> str:
    """The store's location: a SQLite path or a PostgreSQL URL."""
    return isolated


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    return tmp_path / "khronika.key"


@pytest.fixture
def app(store_path: str) -> Iterator[Chronicle]:
    """A new store whose first admin is "tester", with the keys `init` makes."""
    chronicle = signing_store(store_path)
    yield chronicle
    chronicle.close()


def signing_store(location: str, admin: str = "tester") -> Chronicle:
    """A new store as `init` leaves it: its key, and `admin` (whose key is in
    $KHRONIKA_CONFIG, made if need be) registered and signing its writes."""
    chronicle = Chronicle(location, create=True)
    attest.ensure_key(chronicle)
    attest.begin_signing(chronicle, admin)
    chronicle.hand = attest.load_hand()
    return chronicle


@pytest.fixture
def run() -> Callable[..., Result]:
    """Run the CLI in-process; returns click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def hand_of(tmp_path: Path) -> Callable[[Chronicle, str], signing.Hand]:
    """Register NAME in `app` (signed by the app's current hand, an admin)
    with a new key of their own; returns their Hand, to set as `app.hand`."""

    def register(app: Chronicle, name: str) -> signing.Hand:
        path = tmp_path / "hands" / f"{name}.key"
        signing.new_key(name, path)
        app.add_maintainer(name, cp.load_verifier(path.with_suffix(".pub")), "admin")
        return signing.Hand(name, cp.load_signer(path))

    return register


@pytest.fixture
def maintainer(
    run: Callable[..., Result], tmp_path: Path
) -> Callable[..., Callable[..., Result]]:
    """Register NAME (by the admin "tester") with a key of their own, in a
    configuration folder of their own; returns the CLI run as NAME."""

    def register(name: str, role: str = "maintainer") -> Callable[..., Result]:
        config = tmp_path / f"config-{name}"
        runner = CliRunner(env={"KHRONIKA_CONFIG": str(config)})
        made = runner.invoke(cli, ["key", "new", "--name", name])
        assert made.exit_code == 0, made.output
        pub = str(config / "maintainer.pub")
        added = run("maintainer", "add", name, "--pubkey", pub, "--role", role)
        assert added.exit_code == 0, added.output

        def invoke(*args: str, input: str | bytes | None = None) -> Result:
            return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

        return invoke

    return register


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
    dump = staticmethod(lambda location: dump(location))
    edit = staticmethod(lambda location, sql, *params: edit(location, sql, *params))


@pytest.fixture
def make() -> type[Make]:
    return Make


def source_doc(**changes: Any) -> SourceDoc:
    fields: dict[str, Any] = {
        "id": SOURCE,
        "title": "Separatism prosecutions in Kazakhstan and pro-Russian sentiment "
        "(analysis)",
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
    return seed(app)


def writing(location: str) -> Chronicle:
    """The store at `location`, signing with the user's key as the CLI does."""
    chronicle = Chronicle(location)
    chronicle.hand = attest.load_hand()
    return chronicle


@pytest.fixture
def writer() -> Callable[[str], Chronicle]:
    """Opens a store that signs its writes with the user's key, as the CLI."""
    return writing


@pytest.fixture
def unsigned_seeded(store_path: str) -> Iterator[Chronicle]:
    """`seeded`, in a store made before writes were signed: no maintainers."""
    chronicle = Chronicle(store_path, create=True)
    yield seed(chronicle)
    chronicle.close()


def seed(app: Chronicle) -> Chronicle:
    """Add the source, a person and the criminal code to `app`."""
    app.add_source(source_doc(), "tester")
    app.register_entity(entity_doc("tatyana-serebryakova"), "tester")
    law = entity_doc(
        "kz-criminal-code-2014",
        "law",
        articles=[{"number": "180", "title": "Separatist activity"}],
    )
    app.register_entity(law, "tester")
    return app


def dump(location: str) -> list[tuple[Any, ...]]:
    """Every stored event and tree node, to prove a failed command changed nothing."""
    app = Chronicle(location)
    events = [
        (n.id, n.originator_id, n.originator_version, n.topic, n.state)
        for n in app.notifications()
    ]
    size = app.store.tree_size()
    app.close()
    return [*events, ("tree size", size)]


def edit(location: str, statement: str, *params: Any) -> None:
    """Edit the store behind khronika's back, on SQLite or PostgreSQL."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location, autocommit=True) as db:
            db.execute(statement.replace("?", "%s"), params)
    else:
        with sqlite3.connect(location) as db:
            db.execute(statement, params)


# ---- PostgreSQL: throwaway server ----
# One server per test session, from the local PostgreSQL binaries on a free
# loopback port (tests/benchmarks/pgserver.py has the recipe), and a fresh
# database per test. Without binaries or psycopg the tests skip, except under
# CI=true, where they fail: CI must run them.


def _pgserver() -> ModuleType:
    path = Path(__file__).parent / "benchmarks" / "pgserver.py"
    spec = importlib.util.spec_from_file_location("khronika_tests_pgserver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PG = _pgserver()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    try:
        import psycopg  # noqa: F401

        server = PG.server()
        url: str = server.__enter__()
    except (ImportError, PG.ServerError) as e:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL tests cannot run under CI: {e}", pytrace=False)
        pytest.skip(f"no PostgreSQL server for these tests: {e}")
    try:
        yield url
    finally:
        server.__exit__(None, None, None)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A fresh database for one test, dropped afterwards."""
    with PG.fresh_database(postgres_url, prefix="test") as url:
        yield str(url)


@pytest.fixture
def another_store(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A second, empty location of the same kind as the test's store."""
    if store_kind != "postgres":
        yield str(tmp_path / "another.db")
        return
    with PG.fresh_database(request.getfixturevalue("postgres_url"), "other") as url:
        yield str(url)


@pytest.fixture
def demo(run: Callable[..., Result]) -> Callable[..., Result]:
    """The CLI, on a store holding the bundled dataset (its views current)."""
    assert run("demo").exit_code == 0
    return run


@pytest.fixture
def client(demo: Callable[..., Result], store_path: str) -> Iterator[Any]:
    """The demo store served through Starlette's test client."""
    from starlette.testclient import TestClient

    from khronika.web.app import create_app

    with TestClient(create_app(store_path, refresh_every=0.05)) as served:
        yield served
