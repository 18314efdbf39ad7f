"""The plain SQL views of the record as it stands, and the tables' keys."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result
from eventsourcing.persistence import PersistenceError

from khronika.projections.views import open_views
from khronika.store.location import environment


def test_current_views_hold_the_record_as_it_stands(
    run: Callable[..., Result], store_path: str
) -> None:
    assert run("demo").exit_code == 0
    timeline = json.loads(run("timeline", "--format", "json").stdout)["facts"]
    views = open_views(environment(store_path), create=False)
    try:
        facts = views.query("SELECT fact FROM current_facts ORDER BY fact")
        assert [r["fact"] for r in facts] == sorted(f["id"] for f in timeline)
        (entities,) = views.query("SELECT COUNT(*) AS n FROM current_entities")
        assert entities["n"] == 64
        (sources,) = views.query("SELECT COUNT(*) AS n FROM current_sources")
        assert sources["n"] == 2
        with (
            pytest.raises(PersistenceError),
            views.datastore.transaction(commit=False) as c,
        ):  # (fact, version) is the key: a version is one row
            views._enter(c)
            c.execute(views._q("INSERT INTO view_facts (fact, version) VALUES (?, ?)"),
                      [facts[0]["fact"], 1])  # fmt: skip
    finally:
        views.datastore.close()
