"""The service benchmark's Datasette query does the same work as the API."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
from service_load import NOW, TIMELINE_SQL  # noqa: E402


@pytest.mark.sqlite_only
@pytest.mark.parametrize("as_of", ["1996-01-01", "2022-03-01", "2023-12-31", "2030"])
def test_the_datasette_query_answers_as_the_timeline_does(
    client: TestClient, store_path: str, as_of: str
) -> None:
    stamp = client.get("/api/status").json()["last_recorded_at"]
    for known_at in (stamp, NOW):
        api = client.get(f"/api/timeline?as_of={as_of}&known_at={known_at}&limit=50")
        day = api.json()["as_of"]  # as the API resolved it: the date's last day
        ours = [(f["id"], f["version"], f["status"]) for f in api.json()["facts"]]
        with sqlite3.connect(store_path) as db:
            rows = db.execute(TIMELINE_SQL, {"as_of": day, "known_at": known_at})
            theirs = [(r[0], r[1], r[-1]) for r in rows]
        assert theirs == ours
        assert ours  # the check compares something
