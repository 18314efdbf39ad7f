"""PostgreSQL's refusals, said as the server said them, at once, of the right store."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

Run = Callable[..., Result]
pytestmark = pytest.mark.postgres
ROLE = f"khronika_probe_{os.getpid()}"


def sql(url: str, *statements: str) -> list[Any]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        cursors = [c.execute(s) for s in statements]
        return [cur.fetchall() if cur.description else None for cur in cursors]


@pytest.fixture
def role(postgres_db: str) -> Iterator[str]:
    """A role that logs in with a password (the server trusts everyone else)."""
    (rows,) = sql(postgres_db, "SHOW hba_file")
    hba = Path(rows[0][0])
    before = hba.read_text()
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + before)
    sql(postgres_db, f"CREATE ROLE {ROLE} LOGIN PASSWORD 'right'",
        "SELECT pg_reload_conf()")  # fmt: skip
    try:
        yield ROLE
    finally:
        hba.write_text(before)
        sql(postgres_db, "SELECT pg_reload_conf()", f"DROP OWNED BY {ROLE}",
            f"DROP ROLE {ROLE}")  # fmt: skip


def refused(run: Run, *args: str) -> str:
    started = time.monotonic()
    result = run(*args)
    assert time.monotonic() - started < 3  # at once, not after the 5 s timeout
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def test_a_wrong_password_is_said_as_the_server_says_it(
    run: Run, postgres_db: str, role: str
) -> None:
    url = postgres_db.replace("postgres@", f"{role}:wrong-secret@", 1)
    out = refused(run, "--store", url, "timeline")
    assert f'password authentication failed for user "{role}"' in out
    assert "wrong-secret" not in out
    assert out.startswith(f"Error: {url.replace(':wrong-secret', '')}: the "
                          "PostgreSQL server at 127.0.0.1:")  # fmt: skip


def test_an_unknown_database_is_said_as_the_server_says_it(
    run: Run, postgres_db: str
) -> None:
    url = postgres_db.rpartition("/")[0] + "/no_such_chronicle"
    out = refused(run, "--store", url, "timeline")
    assert 'refused the connection: database "no_such_chronicle" does not exist' in out


def test_a_role_that_may_not_log_in_is_said_as_the_server_says_it(
    run: Run, postgres_db: str
) -> None:
    sql(postgres_db, f"CREATE ROLE {ROLE}_nologin NOLOGIN")
    try:
        url = postgres_db.replace("postgres@", f"{ROLE}_nologin@", 1)
        out = refused(run, "--store", url, "log")
        assert f'role "{ROLE}_nologin" is not permitted to log in' in out
    finally:
        sql(postgres_db, f"DROP ROLE {ROLE}_nologin")


def test_migrate_blames_the_target_it_cannot_reach(
    run: Run, tmp_path: Path, postgres_db: str
) -> None:
    sqlite = str(tmp_path / "source.db")
    assert run("--store", sqlite, "init").exit_code == 0
    url = postgres_db.rpartition("/")[0] + "/no_such_target"
    out = refused(run, "migrate", "--from", sqlite, "--to", url)
    assert out.startswith(f"Error: {url}: the PostgreSQL server")
    assert 'database "no_such_target" does not exist' in out


def test_a_select_only_role_is_told_the_store_is_read_only_here(
    run: Run, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHRONIKA_STORE", postgres_db)
    assert run("demo").exit_code == 0
    sql(postgres_db, f"CREATE ROLE {ROLE}_reader LOGIN",
        f"GRANT USAGE ON SCHEMA public TO {ROLE}_reader",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {ROLE}_reader")  # fmt: skip
    try:
        url = postgres_db.replace("postgres@", f"{ROLE}_reader@", 1)
        out = refused(run, "--store", url, "entity", "add", "person", "x-y",
                      "--name", "X Y")  # fmt: skip
        assert f"Error: {url}: the store is read-only here (" in out
        assert "permission denied" in out
    finally:
        sql(postgres_db, f"DROP OWNED BY {ROLE}_reader", f"DROP ROLE {ROLE}_reader")


@pytest.mark.parametrize(
    "schema", ['we"ird', "we'ird", "We", "a b", "100%", "x" * 47, "1st"]
)
def test_a_schema_name_that_needs_quoting_is_refused_in_one_line(
    run: Run, postgres_db: str, schema: str
) -> None:
    result = run("--store", f"{postgres_db}?schema={schema}", "init")
    assert result.exit_code == 1
    assert result.output.endswith(
        "?schema= takes a name of lower-case letters a-z, digits and "
        "underscores, at most 46 characters, starting with a letter or "
        "underscore\n"
    )
    assert "LINE 1" not in result.output


def test_a_schema_of_its_own_is_named_quoted(
    run: Run, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHRONIKA_STORE", postgres_db + "?schema=x" + "y" * 45)
    for command in (["demo"], ["timeline"], ["verify", "--views"],
                    ["projections", "rebuild"], ["projections", "status"]):  # fmt: skip
        result = run(*command)
        assert result.exit_code == 0, (command, result.output)


@pytest.mark.parametrize(
    "query",
    ["?password=zqxk7", "?sslpassword=zqxk7&password=hunter2", "?x=1&PASSWORD=zqxk7"],
)
def test_a_password_in_the_query_is_never_printed(
    run: Run, postgres_db: str, query: str
) -> None:
    base = postgres_db.rpartition("/")[0] + "/no_such_chronicle"
    out = refused(run, "--store", base + query, "timeline")
    assert "does not exist" in out
    assert "zqxk7" not in out and "hunter2" not in out


def test_a_password_in_the_query_is_used(
    run: Run, postgres_db: str, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KHRONIKA_STORE", postgres_db)
    assert run("demo").exit_code == 0
    sql(postgres_db, f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")  # fmt: skip
    url = postgres_db.replace("postgres@", f"{role}@", 1) + "?password=right"
    result = run("--store", url, "log", "--limit", "1")
    assert result.exit_code == 0, result.output
