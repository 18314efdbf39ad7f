"""`serve` on PostgreSQL while the database refuses: 503 at once, then back."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from click.testing import Result

from khronika.web.app import create_app

Run = Callable[..., Result]
pytestmark = pytest.mark.postgres


def admin(url: str, statement: str) -> None:
    import psycopg

    server = url.rpartition("/")[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as c:
        c.execute(statement)


def test_an_outage_is_answered_503_at_once_and_recovered_from_at_once(
    run: Run, postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starlette.testclient import TestClient

    monkeypatch.setenv("KHRONIKA_STORE", postgres_db)
    assert run("demo").exit_code == 0
    name = postgres_db.rpartition("/")[2]
    with TestClient(create_app(postgres_db, refresh_every=0.05)) as client:
        assert client.get("/api/status").status_code == 200
        admin(postgres_db, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin(postgres_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
              f"WHERE datname = '{name}'")  # fmt: skip
        time.sleep(0.5)  # the server looks every --refresh seconds (0.05 here)
        try:
            answers = []
            for _ in range(5):
                started = time.monotonic()
                answer = client.get("/api/timeline")
                answers.append((answer, time.monotonic() - started))
            for answer, _ in answers:
                assert answer.status_code == 503
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.headers["retry-after"] == "5"
                assert (
                    "is not currently accepting connections" in answer.json()["detail"]
                )
            assert all(took < 1 for _, took in answers), answers  # at once
        finally:
            admin(postgres_db, f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        started = time.monotonic()
        back = client.get("/api/timeline")
        assert back.status_code == 200, back.text
        assert time.monotonic() - started < 2
