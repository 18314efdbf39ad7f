"""Entities and sources as the record knew them: lists and single records."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain import names
from khronika.projections import models as m
from khronika.projections.queries import Entities, Point
from khronika.projections.views import ViewStore


def entity_json(row: Any) -> m.Entity:
    return m.typed(m.Entity, {
        "id": row["entity"], "kind": row["kind"], "name": row["name"],
        "aliases": msgspec.json.decode(row["aliases"]), "note": row["note"],
        "merged_into": row["merged_into"],
        "articles": msgspec.json.decode(row["articles"]),
        "version": row["version"], "recorded_at": row["recorded_from"],
    })  # fmt: skip


def entities(views: ViewStore, point: Point, kind: str | None = None) -> list[m.Entity]:
    """Every entity known at `point.known_at`, by name; of one kind if given."""
    rows = Entities(views, point).rows.values()
    chosen = [entity_json(r) for r in rows if kind is None or r["kind"] == kind]
    return sorted(chosen, key=lambda e: (e.name.casefold(), e.id))


def entity(views: ViewStore, ident: str, point: Point) -> m.Entity:
    """One entity by slug, name or alias (did-you-mean on a miss)."""
    return entity_json(Entities(views, point).resolve(ident))


def source_json(row: Any) -> m.Source:
    return m.Source(**{
        "id": row["source"], "title": row["title"], "publisher": row["publisher"],
        "url": row["url"], "published": row["published"],
        "language": row["language"], "sha256": row["sha256"],
        "version": row["version"], "recorded_at": row["recorded_from"],
    })  # fmt: skip


def sources(views: ViewStore, point: Point) -> list[m.Source]:
    rows = views.query(
        f"SELECT * FROM view_sources WHERE {point.where('', world=False)} "
        "ORDER BY source",
        point.params,
    )
    return [source_json(r) for r in rows]


def source(views: ViewStore, slug: str, point: Point) -> m.Source:
    found = {s.id: s for s in sources(views, point)}
    index = names.index((s, [s]) for s in found)
    return found[names.resolve(slug, index, "source")]
