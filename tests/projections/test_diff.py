"""`diff`: who is credited for a change between two record times."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain.documents import Citation, FactDoc
from khronika.domain.events import stamp
from khronika.projections.queries import diff
from khronika.projections.views import open_views
from khronika.store.app import Chronicle
from khronika.store.location import environment

SOURCE = "worldcrunch-kz-separatism"


def test_a_fact_added_then_corrected_in_the_window_is_credited_to_its_adder(
    seeded: Chronicle, make: Any, hand_of: Any
) -> None:
    app = seeded
    ann, bob = hand_of(app, "ann"), hand_of(app, "bob")
    start = stamp(app.clock.now())
    app.hand = ann
    added = app.append_fact(
        msgspec.convert(make.fact_data(), FactDoc), "ann"
    ).timestamp  # fmt: skip
    app.hand = bob
    app.correct(
        "serebryakova-verdict-2023",
        {"summary": "A court sentenced her to three years."},
        "wording",
        [Citation(source=SOURCE, locator="para:6")],
        "bob",
    )
    views = open_views(environment(app.location))
    views.catch_up(app.read_after)
    (change,) = diff(views, start, stamp(app.clock.now()))
    assert (change.change, change.id) == (
        "added, corrected",
        "serebryakova-verdict-2023",
    )
    assert change.recorded_by == "ann"  # who added it, not bob who corrected it
    assert change.recorded_key.startswith("ann+")
    assert change.recorded_at == stamp(added)
    assert change.summary == "A court sentenced her to three years."
