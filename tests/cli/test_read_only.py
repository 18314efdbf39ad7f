"""Every read command on a store this process may not write.

Reads open the store read-only: nothing is created, no write transaction is
taken. Views behind the log are read as they stand, and the lag is said: a
`lag` field in JSON and a warning on stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import Result

from khronika.projections import schema
from khronika.store import attest
from khronika.store.app import Chronicle

Run = Callable[..., Result]
READS = [
    ("timeline",),
    ("timeline", "--as-of", "2020", "--known-at", "2100-01-01"),
    ("person", "tatyana-serebryakova"),
    ("law", "kz-criminal-code-2014"),
    *[("stats", "--by", by) for by in
      ("year", "charge", "place", "platform", "sentence-type", "lag")],
    ("fact", "serebryakova-verdict-2023"),
    ("diff", "--known-at", "2000-01-01", "--known-at", "2100-01-01"),
    ("trace", "serebryakova-verdict-2023"),
    ("trace", "tatyana-serebryakova"),
    ("log",),
    ("verify", "--views"),
    ("projections", "status"),
]  # fmt: skip


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def locked(demo: Run, store_path: str) -> Iterator[Path]:
    """The demo store, chmod 444 (which stops this process even as root)."""
    path = Path(store_path)
    path.chmod(0o444)
    yield path
    path.chmod(0o644)


def json_of(run: Run, *args: str) -> Any:
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_every_read_command_works_on_a_chmod_444_file(
    demo: Run, locked: Path, args: tuple[str, ...]
) -> None:
    beside = set(locked.parent.iterdir())
    before = digest(locked), locked.stat().st_mtime_ns
    result = demo(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip()
    assert "warning" not in result.stderr
    assert (digest(locked), locked.stat().st_mtime_ns) == before
    assert set(locked.parent.iterdir()) == beside  # no -shm or -wal made


@pytest.mark.sqlite_only
def test_behind_views_on_a_read_only_file_are_read_with_their_lag(
    demo: Run, store_path: str, make: Any
) -> None:
    app = Chronicle(store_path)
    app.hand = attest.load_hand()  # as the CLI signs: with the user's key
    app.append_fact(make.fact(id="late-verdict", when="2024-01-01"), "tester")
    app.close()
    path = Path(store_path)
    path.chmod(0o444)
    try:
        before = digest(path)
        result = demo("timeline", "--format", "json")
        assert result.exit_code == 0, result.output
        timeline = json.loads(result.stdout)
        assert timeline["lag"] == 1
        assert "late-verdict" not in [f["id"] for f in timeline["facts"]]
        assert "the views are 1 log position behind the events" in result.stderr
        missing = demo("fact", "late-verdict")
        assert missing.exit_code == 1
        assert "it may be in the 1 events the views have not caught up" in (
            missing.output
        )
        assert digest(path) == before
    finally:
        path.chmod(0o644)
    caught_up = json_of(demo, "timeline")  # writable again: catches up
    assert caught_up["lag"] == 0
    assert "late-verdict" in [f["id"] for f in caught_up["facts"]]


@pytest.mark.sqlite_only
def test_a_mode_ro_uri_reads_and_refuses_writes(
    demo: Run, store_path: str, make: Any, tmp_path: Path
) -> None:
    uri = f"file:{quote(str(Path(store_path).resolve()))}?mode=ro"
    before = digest(Path(store_path))
    for args in READS:
        result = demo("--store", uri, *args)
        assert result.exit_code == 0, (args, result.output)
    fact = tmp_path / "fact.json"
    fact.write_text(json.dumps(make.fact_data(id="another-verdict")))
    refused = demo("--store", uri, "append", str(fact))
    assert refused.exit_code == 1
    assert "the store is read-only here" in refused.output
    assert digest(Path(store_path)) == before


@pytest.mark.sqlite_only
def test_writing_to_a_chmod_444_file_is_refused_clearly(
    demo: Run, locked: Path, make: Any, tmp_path: Path
) -> None:
    fact = tmp_path / "fact.json"
    fact.write_text(json.dumps(make.fact_data(id="another-verdict")))
    before = digest(locked)
    refused = demo("append", str(fact))
    assert refused.exit_code == 1
    assert "the store is read-only here" in refused.output
    assert digest(locked) == before
    assert not stat.S_IMODE(locked.stat().st_mode) & 0o222


def test_a_store_without_views_of_this_format_is_sent_to_upgrade(
    demo: Run, store_path: str
) -> None:
    from khronika.projections.views import open_views
    from khronika.store.location import environment

    views = open_views(environment(store_path))
    try:
        with views.datastore.transaction(commit=True) as c:
            views._enter(c)
            c.execute("DROP TABLE view_format")
    finally:
        views.datastore.close()
    refused = demo("person", "tatyana-serebryakova")
    assert refused.exit_code == 1
    assert "has no views of a known format" in refused.output
    assert "Run `khronika upgrade` once" in refused.output
    assert demo("upgrade").exit_code == 0
    assert json_of(demo, "person", "tatyana-serebryakova")["lag"] == 0


@pytest.mark.postgres
def test_a_select_only_postgres_role_reads_and_reports_lag(
    postgres_db: str, run: Run, make: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    monkeypatch.setenv("KHRONIKA_STORE", postgres_db)
    assert run("demo").exit_code == 0
    assert run("timeline").exit_code == 0
    role = f"reader_{os.getpid()}"
    with psycopg.connect(postgres_db, autocommit=True) as c:
        c.execute(f"CREATE ROLE {role} LOGIN")
        c.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        c.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    reader = postgres_db.replace("postgres@", f"{role}@", 1)
    try:
        for args in READS:
            if args[0] in ("log", "verify", "trace"):
                continue  # they read events only; covered below
            result = run("--store", reader, *args)
            assert result.exit_code == 0, (args, result.output)
        for args in [("log",), ("trace", "serebryakova-verdict-2023"), ("verify",)]:
            assert run("--store", reader, *args).exit_code == 0
        app = Chronicle(postgres_db)
        app.hand = attest.load_hand()  # signs as the CLI would
        app.append_fact(make.fact(id="late-verdict", when="2024-01-01"), "tester")
        app.close()
        result = run("--store", reader, "timeline", "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["lag"] == 1
        assert "1 log position behind" in result.stderr
    finally:
        with psycopg.connect(postgres_db, autocommit=True) as c:
            c.execute(f"DROP OWNED BY {role}")
            c.execute(f"DROP ROLE {role}")


@pytest.mark.sqlite_only
def test_reads_of_current_views_write_nothing_even_when_they_may(
    demo: Run, store_path: str
) -> None:
    """No CREATE, no write transaction: the file and its WAL stay as they are."""
    path = Path(store_path)
    wal = path.with_name(path.name + "-wal")
    before = digest(path), wal.read_bytes() if wal.exists() else b""
    for args in READS:
        assert demo(*args).exit_code == 0, args
    assert (digest(path), wal.read_bytes() if wal.exists() else b"") == before


def test_upgrade_leaves_current_views_alone(demo: Run) -> None:
    result = demo("upgrade")
    assert result.exit_code == 0
    current = f"nothing to upgrade: the views are of format {schema.FORMAT}"
    assert current in result.output


def test_diff_json_says_the_lag(demo: Run) -> None:
    answer = json_of(
        demo, "diff", "--known-at", "2000-01-01", "--known-at", "2100-01-01"
    )
    assert answer["lag"] == 0 and answer["changes"]


def test_a_reversed_date_range_is_refused(demo: Run) -> None:
    result = demo("timeline", "--from", "2024", "--to", "2020")
    assert result.exit_code == 1
    assert "from: 2024-01-01 is after to (2020-12-31)" in result.output


@pytest.mark.sqlite_only
def test_serve_says_when_its_port_is_taken(demo: Run) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = demo("serve", "--port", port)
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "serving" not in result.output
