"""Datasette on the demo store: keys, row links, current views, the event log
and the metadata `khronika projections metadata` prints."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from datasette.app import Datasette  # type: ignore[import-untyped]

from khronika.projections import schema

pytestmark = pytest.mark.sqlite_only  # Datasette reads SQLite files
DB = "khronika"  # Datasette names the database by the file: khronika.db


def fetch(ds: Datasette, path: str) -> Any:
    async def get() -> Any:
        return await ds.client.get(path)

    return asyncio.run(get())


def served(run: Callable[..., Result], store_path: str) -> Datasette:
    assert run("demo").exit_code == 0
    done = run("projections", "metadata")
    assert done.exit_code == 0, done.output
    return Datasette([store_path], metadata=json.loads(done.stdout))


def test_every_view_table_has_a_primary_key_and_its_foreign_keys(
    run: Callable[..., Result], store_path: str
) -> None:
    assert run("demo").exit_code == 0
    db = sqlite3.connect(store_path)
    for table in schema.TABLES:
        keys = sorted((r[5], r[1]) for r in db.execute(f"PRAGMA table_info({table})"))
        assert [name for pk, name in keys if pk] == list(schema.PRIMARY[table])
        links = {(r[2], r[3], r[4]) for r in db.execute(
            f"PRAGMA foreign_key_list({table})")}  # fmt: skip
        if table in schema.FACT_TABLES[1:]:
            assert {("view_facts", "fact", "fact"), ("view_facts", "version",
                    "version"), ("facts", "fact", "fact")} <= links  # fmt: skip
        if table in ("view_roles", "view_sentences"):
            assert ("entities", "entity" if table == "view_roles" else "defendant",
                    "entity") in links  # fmt: skip
    dangling = db.execute("PRAGMA foreign_key_check").fetchall()
    assert dangling == []  # every child row names a fact version that exists


def test_every_table_with_record_time_has_a_current_view(
    run: Callable[..., Result], store_path: str
) -> None:
    assert run("demo").exit_code == 0
    db = sqlite3.connect(store_path)
    views = {r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                      "WHERE type = 'view'")}  # fmt: skip
    for table in schema.TABLES:
        current = table.replace("view_", "current_")
        assert current in views
        closed = f"SELECT COUNT(*) FROM {current} WHERE recorded_to <> ?"
        (stale,) = db.execute(closed, [schema.OPEN]).fetchone()
        assert stale == 0


def test_datasette_shows_row_links_metadata_and_the_event_log(
    run: Callable[..., Result], store_path: str
) -> None:
    ds = served(run, store_path)
    page = fetch(ds, f"/{DB}/view_roles")
    assert page.status_code == 200
    # a row link by the primary key: /khronika/view_roles/FACT,VERSION,ITEM
    links = re.findall(rf'href="/{DB}/view_roles/([^"]+)"', page.text)
    assert links, "no row link"
    row = fetch(ds, f"/{DB}/view_roles/{links[0]}.json?_shape=objects")
    assert row.status_code == 200
    (found,) = row.json()["rows"]
    assert f"{found['fact']},{found['version']},{found['item']}" == links[0]
    assert "Who took part" in page.text  # the title from the metadata
    # a slug links to its record, labelled by its name (a foreign key)
    person = '<a href="/khronika/entities/tatyana-serebryakova">'
    roles = fetch(ds, f"/{DB}/view_roles?entity=tatyana-serebryakova").text
    assert person in roles and "Tatyana Serebryakova</a>" in roles
    record = fetch(ds, f"/{DB}/entities/tatyana-serebryakova")
    assert record.status_code == 200 and "view_roles" in record.text
    facets = fetch(ds, f"/{DB}/view_facts.json?_size=1").json()["facet_results"]
    assert {"kind", "recorded_by"} <= facets.keys()  # the metadata's facets
    log = fetch(ds, f"/{DB}/event_log.json?_shape=objects&record=fact&version=1"
                    "&_sort=position&_size=1")  # fmt: skip
    (first,) = log.json()["rows"]
    assert first["text"].startswith(f"{first['recorded_by']} recorded fact "
                                    f"{first['slug']}: ")  # fmt: skip


def test_metadata_describes_every_column_of_every_table_and_view(
    run: Callable[..., Result], store_path: str
) -> None:
    assert run("demo").exit_code == 0
    tables = json.loads(run("projections", "metadata").stdout)["databases"][DB][
        "tables"
    ]
    db = sqlite3.connect(store_path)
    names = [
        r[0]
        for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND (name LIKE 'view\\_%' ESCAPE '\\' OR name LIKE 'current\\_%' "
            "ESCAPE '\\' OR name IN ('event_log', 'facts', 'entities', 'sources')) "
            "AND name <> 'view_format' "
            "AND name NOT LIKE '%\\_fts%' ESCAPE '\\'"
        )
    ]  # the search index's own
    assert sorted(tables) == sorted(names)
    for name in names:
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({name})")]
        assert list(tables[name]["columns"]) == columns, name
        assert all(tables[name]["columns"].values()), name
        assert set(tables[name].get("facets", [])) <= set(columns), name
