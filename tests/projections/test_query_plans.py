"""The read queries that must stay indexed lookups, checked by SQLite's plan.

Without statistics (the views are never ANALYZEd) SQLite picks among
indexes by how many of their columns a query pins; these tests say which
index each query must search by, so that a new index cannot quietly take
over and turn a lookup into a scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from khronika.projections.sameness import TWINS
from khronika.projections.views import Views


def plan(views: Views, sql: str, params: dict[str, Any]) -> list[str]:
    """SQLite's query plan of `sql`, one line a step."""
    return [r["detail"] for r in views.query(f"EXPLAIN QUERY PLAN {sql}", params)]


def test_twins_of_a_verdict_are_found_by_its_dates_bounds(tmp_path: Path) -> None:
    views = Views(str(tmp_path / "views.db"))
    params = {"e": "2023-05-30", "l": "2023-05-30", "open": "", "edtf": "2023-05-30"}
    steps = plan(views, TWINS, params)
    facts = next(s for s in steps if s.startswith(("SEARCH f ", "SCAN f")))
    assert "(earliest=? AND latest=?" in facts, steps
