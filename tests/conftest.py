"""Shared fixtures: every test gets its own store and recorder name."""

from __future__ import annotations

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


STORE_FIXTURES = {"app", "run", "store_path", "seeded", "demo"}


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
    chronicle = Chronicle(store_path, create=True)
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
    dump = staticmethod(lambda location: dump(location))


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


# ---- PostgreSQL: throwaway server (begin) ----
# One server per test session, started from the local PostgreSQL binaries on a
# free loopback port with fsync off, and one fresh database per test. Where the
# binaries or psycopg are missing the tests skip, except under CI=true, where
# they fail: CI must run them. KHRONIKA_PG_BIN names another bin directory.
import glob  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import NoReturn  # noqa: E402
from uuid import uuid4  # noqa: E402

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)


def _pg_unavailable(reason: str) -> NoReturn:
    """Skip, or fail under CI, where PostgreSQL tests must never skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _pg_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    override = os.environ.get("KHRONIKA_PG_BIN")
    on_path = shutil.which("pg_ctl")
    candidates = [
        *([override] if override else []),
        *PG_BIN_DIRS,
        *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True),
        *([str(Path(on_path).parent)] if on_path else []),
    ]
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _pg_run_as() -> list[str]:
    """The command prefix that runs the server: postgres refuses to run as root."""
    if os.geteuid() != 0:
        return []
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        _pg_unavailable("running as root, and there is no OS user `postgres`")
    if shutil.which("runuser") is None:
        _pg_unavailable("running as root, and no `runuser` to become `postgres`")
    return ["runuser", "-u", "postgres", "--"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A server for this session: postgresql://postgres@127.0.0.1:PORT/postgres."""
    try:
        import psycopg
    except ImportError:
        _pg_unavailable("psycopg is not installed: pip install 'khronika[postgres]'")
    bin_dir = _pg_bin()
    if bin_dir is None:
        _pg_unavailable(
            "no PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin "
            "or on PATH; set KHRONIKA_PG_BIN to their directory"
        )
    as_user = _pg_run_as()
    root = Path(tempfile.mkdtemp(prefix="khronika-pg-"))
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*as_user, *args], capture_output=True, text=True, check=False
        )

    def log_tail() -> str:
        try:
            return log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    started = False
    try:
        if as_user:
            shutil.chown(root, "postgres", "postgres")
        init = run(
            str(bin_dir / "initdb"),
            "-D", str(data),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        )  # fmt: skip
        if init.returncode:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}", pytrace=False)
        port, failures = 0, []
        for _attempt in range(3):  # another process may take the port meanwhile
            port = _free_port()
            start = run(
                str(bin_dir / "pg_ctl"),
                "-D", str(data),
                "-l", str(log),  # not our pipes: the server outlives pg_ctl
                "-o", f"-h 127.0.0.1 -p {port} -k {root} -F -c fsync=off"
                " -c synchronous_commit=off -c full_page_writes=off",
                "-w", "-t", "60",
                "start",
            )  # fmt: skip
            if start.returncode == 0:
                started = True
                break
            failures.append(f"{start.stdout}\n{start.stderr}\n{log_tail()}")
        if not started:
            pytest.fail("pg_ctl start failed:\n" + "\n".join(failures), pytrace=False)
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while True:  # pg_ctl -w saw "ready"; make sure a client gets in too
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"PostgreSQL on port {port} takes no connections:\n"
                        + log_tail(),
                        pytrace=False,
                    )
                time.sleep(0.1)
        yield url
    finally:
        if started:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"test_{uuid4().hex}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )


# ---- PostgreSQL: throwaway server (end) ----
