"""The service under load: a slow answer holds one reader, not the server.

Each test failed before its fix: answers ran on the event loop (SQLite), a
long read had no time limit, a mistyped fact id was compared with every id,
an early known_at walked every fact, and statistics were recomputed on
every call.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from starlette.testclient import TestClient

from khronika.projections import deadline, queries, schema
from khronika.projections import person as person_module
from khronika.projections.person import person
from khronika.projections.queries import Point
from khronika.projections.reading import read_views
from khronika.projections.stats import stats
from khronika.store.app import Chronicle
from khronika.web import api
from khronika.web.app import create_app

sys.path.insert(0, str(Path(__file__).parent))
from uvicorn_thread import served  # noqa: E402

Run = Callable[..., Result]


def fetch(url: str, timeout: float = 30) -> tuple[int, dict[str, str], Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_a_slow_answer_does_not_hold_up_the_others(
    demo: Run, store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, entered = threading.Event(), threading.Event()
    real = stats

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(60)  # until the fact has been answered, or a minute
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "stats", held)
    with served(create_app(store_path, refresh_every=0.05)) as url:
        slow: dict[str, Any] = {}
        asking = threading.Thread(
            target=lambda: slow.update(answer=fetch(f"{url}/api/stats/year", 90))
        )
        asking.start()
        assert entered.wait(30)
        try:  # on the event loop, this waited for the statistics: a timeout
            status, _, fact = fetch(f"{url}/api/facts/serebryakova-verdict-2023", 10)
        finally:
            release.set()
            asking.join(90)
    assert status == 200 and fact["fact"]["id"] == "serebryakova-verdict-2023"
    assert slow["answer"][0] == 200


def test_a_read_past_the_time_limit_answers_503_with_retry_after(
    demo: Run, store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deadline, "STEPS", 1)  # look at the clock at every step
    slow = create_app(store_path, refresh_every=60, time_limit=0.001)
    with TestClient(slow) as client:
        reader = slow.state.reader
        store = reader.app
        response = client.get("/api/stats/year")
    assert response.status_code == 503
    # a read stopped by the limit is not the database refusing: no reopening
    assert reader.down is None and reader.app is store
    assert response.headers["Retry-After"] == "10"
    problem = response.json()
    assert problem["title"] == "Service Unavailable"
    assert "limit of 0.001 s" in problem["detail"]
    with TestClient(create_app(store_path, refresh_every=60)) as client:
        assert client.get("/api/stats/year").status_code == 200


def test_a_mistyped_fact_id_is_matched_through_the_index(
    demo: Run, store_path: str, client: TestClient
) -> None:
    response = client.get("/api/facts/serebryakova-verdict-2O23")
    assert response.status_code == 404
    assert "serebryakova-verdict-2023" in response.json()["suggestions"]
    trace = client.get("/api/facts/serebryakova-verdict-2O23/trace")
    assert "serebryakova-verdict-2023" in trace.json()["suggestions"]
    app = Chronicle(store_path)
    views = read_views(app.location, app.recorder.max_notification_id() or 0,
                       app.read_after)  # fmt: skip
    near = queries.near_facts(views, "serebryakova-verdict-2O23")
    assert near[0] == "serebryakova-verdict-2023"
    assert len(near) > 1 and all(f.startswith("serebryakova-") for f in near)
    assert queries.near_facts(views, "zzz-nothing-like-it") == []
    app.close()


def plan(views: Any, sql: str, params: dict[str, Any]) -> str:
    rows = views.query(f"EXPLAIN QUERY PLAN {sql}", params)
    return "\n".join(row["detail"] for row in rows)


@pytest.mark.sqlite_only  # SQLite's plans; PostgreSQL's planner has statistics
def test_the_pages_served_read_through_indexes(demo: Run, store_path: str) -> None:
    app = Chronicle(store_path)
    views = read_views(app.location, app.recorder.max_notification_id() or 0,
                       app.read_after)  # fmt: skip
    page = ("SELECT * FROM view_facts f{} WHERE f.recorded_from <= :k AND "
            ":k < f.recorded_to AND f.earliest <= :d AND f.retracted = 0 "
            "ORDER BY f.earliest, f.latest, f.fact LIMIT 51")  # fmt: skip
    params = Point(known_at="2026-01-01T00:00:00Z").params
    walk = plan(views, page.format(views.indexed_by(schema.TIMELINE_ORDER)), params)
    assert schema.TIMELINE_ORDER in walk and "TEMP B-TREE" not in walk
    early = plan(views, page.format(views.indexed_by(schema.RECORDED_BY)), params)
    assert f"USING INDEX {schema.RECORDED_BY} (recorded_from<?)" in early
    near_sql = ("SELECT DISTINCT fact FROM view_facts WHERE fact >= :a "
                "AND fact < :b ORDER BY fact LIMIT 50")  # fmt: skip
    near = plan(views, near_sql, {"a": "x", "b": "y"})
    assert "(fact>? AND fact<?)" in near and "SCAN" not in near
    app.close()


def test_an_early_known_at_reads_only_what_was_recorded_by_then(
    demo: Run, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    both = client.get("/api/timeline?limit=500").json()["facts"]
    first = min(both, key=lambda f: f["recorded_at"])["recorded_at"]
    monkeypatch.setattr(queries, "FEW", 1)  # the walk in order, for every page
    walked = client.get(f"/api/timeline?known_at={first}").json()["facts"]
    monkeypatch.setattr(queries, "FEW", 10**9)  # reading by record time, always
    read = client.get(f"/api/timeline?known_at={first}").json()["facts"]
    assert walked == read and 0 < len(read) < len(both)


def test_statistics_are_computed_once_while_the_views_stand(
    demo: Run, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = stats

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "stats", counted)
    first = client.get("/api/stats/year").json()
    assert client.get("/api/stats/year").json() == first
    client.get("/api/stats/place")
    client.get("/stats?by=year")  # the page asks the same question
    assert calls == ["year", "place"]
    result = demo("retract", "serebryakova-verdict-2023", "--reason", "a test",
                  "--source", "worldcrunch-kz-separatism@para:4")  # fmt: skip
    assert result.exit_code == 0, result.output
    for _ in range(200):  # the server catches the views up within a moment
        if client.get("/api/status").json()["lag"] == 0:
            break
        time.sleep(0.05)
    after = client.get("/api/stats/year").json()
    assert calls == ["year", "place", "year"]
    assert after["verdicts"] == first["verdicts"] - 1


def test_a_persons_page_looks_their_facts_up_by_id_or_walks_the_same(
    demo: Run, store_path: str, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person named by few facts has them looked up by id and sorted; one
    named by many walks the timeline's order; the page is the same."""
    page = "/api/person/tatyana-serebryakova?limit=2&offset=1"
    looked_up = client.get(page).json()
    monkeypatch.setattr(queries, "FEW", 1)  # as if named by very many facts
    walked = client.get(page).json()
    assert looked_up == walked and len(walked["facts"]) == 2
    assert walked["facts_total"] > 3


@pytest.mark.sqlite_only  # only SQLite is told which index to read
def test_a_page_is_answered_while_the_index_it_reads_by_is_not_there(
    demo: Run, store_path: str
) -> None:
    """A load into empty views drops indexes until its end; a reader that
    meets them gone gets a slower answer, not "no such index"."""
    answers = {}
    for dropped in (False, True):
        if dropped:
            with sqlite3.connect(store_path) as db:
                for index in (
                    schema.BY_FACT,
                    schema.TIMELINE_ORDER,
                    schema.RECORDED_BY,
                    person_module.ROLES_BY_FACT,
                ):
                    db.execute(f"DROP INDEX {index}")  # fmt: skip
        person = demo("person", "tatyana-serebryakova", "--format", "json")
        timeline = demo("timeline", "--format", "json")
        assert person.exit_code == 0 and timeline.exit_code == 0, person.output
        answers[dropped] = (person.stdout, timeline.stdout)
    assert answers[True] == answers[False]


@pytest.mark.sqlite_only  # SQLite's plans; PostgreSQL's planner has statistics
def test_a_persons_facts_are_looked_up_by_id(
    demo: Run, store_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Chronicle(store_path)
    views = read_views(app.location, app.recorder.max_notification_id() or 0,
                       app.read_after)  # fmt: skip
    seen: list[tuple[str, Any]] = []
    query = views.query

    def kept(sql: str, params: Any = None) -> Any:
        seen.append((sql, params))
        return query(sql, params)

    monkeypatch.setattr(views, "query", kept)
    person(views, "tatyana-serebryakova", Point(), limit=2)
    monkeypatch.undo()
    plans = [plan(views, sql, params) for sql, params in seen]
    # the page's keys, sorted and counted from the indexes alone ...
    keys = next(p for (sql, _), p in zip(seen, plans, strict=True)
                if sql.startswith("SELECT f.fact, f.version"))  # fmt: skip
    assert f"SEARCH f USING COVERING INDEX {schema.BY_FACT} (fact=?" in keys
    assert f"SEARCH r USING COVERING INDEX {schema.ROLES_BY_ENTITY} (entity=?" in keys
    assert "SCAN f" not in keys and "SCAN r" not in keys
    # ... then the whole rows of the page's facts alone, by id
    page = next(p for (sql, _), p in zip(seen, plans, strict=True)
                if sql.startswith("SELECT f.*"))  # fmt: skip
    assert "SEARCH f USING " in page and "(fact=?" in page and "SCAN" not in page
    named = next(p for (sql, _), p in zip(seen, plans, strict=True)
                 if "FROM (SELECT r.fact" in sql)  # fmt: skip
    assert f"COVERING INDEX {schema.ROLES_BY_ENTITY} (entity=?" in named
    roles = next(p for (sql, _), p in zip(seen, plans, strict=True)
                 if sql.startswith("SELECT fact, role"))  # fmt: skip
    assert "(fact=?" in roles and "SCAN" not in roles
    app.close()
