"""Verdicts that look recorded twice: the same defendants on the same date."""

from __future__ import annotations

from collections.abc import Iterable

from msgspec import Struct

from khronika.domain import edtf
from khronika.domain.sameness import VerdictKey
from khronika.projections.schema import OPEN
from khronika.projections.views import ViewStore


class SameVerdict(Struct, frozen=True, kw_only=True):
    fact: str  # the verdict being written
    other: str  # a verdict with the same defendants and date
    edtf: str


def same_verdicts(views: ViewStore, keys: Iterable[VerdictKey]) -> list[SameVerdict]:
    """Each verdict among `keys` that has a twin: another of `keys`, or a
    current, unretracted verdict in the views (found by its bounds' index,
    one query per date however many verdicts share it)."""
    found: dict[tuple[str, str], SameVerdict] = {}
    seen: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    dated: dict[str, dict[tuple[str, ...], list[str]]] = {}  # edtf -> the views'
    for key in keys:
        twins = seen.setdefault(key.same, [])
        if key.edtf not in dated:
            dated[key.edtf] = _in_views(views, key.edtf)
        for other in [*twins, *dated[key.edtf].get(key.defendants, [])]:
            if other != key.fact and (other, key.fact) not in found:
                found[(key.fact, other)] = SameVerdict(
                    fact=key.fact, other=other, edtf=key.edtf
                )
        twins.append(key.fact)
    return list(found.values())


# The kind is compared outside the index (`|| ''`): without statistics
# SQLite would otherwise pick the index on (kind, recorded_to) and read
# every current verdict for each date, not those of the date.
TWINS = (
    "SELECT f.fact, r.entity FROM view_facts f JOIN view_roles r "
    "ON r.fact = f.fact AND r.version = f.version AND r.role = 'defendant' "
    "WHERE f.earliest = :e AND f.latest = :l AND f.recorded_to = :open "
    "AND f.kind || '' = 'verdict' AND f.retracted = 0 AND f.edtf = :edtf"
)


def _in_views(views: ViewStore, date: str) -> dict[tuple[str, ...], list[str]]:
    """The current verdicts dated `date` (EDTF), by their defendants."""
    bounds = edtf.parse(date)
    rows = views.query(
        TWINS,
        {"e": bounds.earliest.key(), "l": bounds.latest.key(), "open": OPEN,
         "edtf": date},
    )  # fmt: skip
    defendants: dict[str, set[str]] = {}
    for r in rows:
        defendants.setdefault(r["fact"], set()).add(r["entity"])
    by_defendants: dict[tuple[str, ...], list[str]] = {}
    for fact in sorted(defendants):
        by_defendants.setdefault(tuple(sorted(defendants[fact])), []).append(fact)
    return by_defendants
