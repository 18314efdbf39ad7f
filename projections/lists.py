"""Entities and sources as the record knew them: lists and single records."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain import names
from khronika.projections import models as m
from khronika.projections.queries import Entities, Point, _in, timeline
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


def entity_facts(views: ViewStore, ident: str, point: Point) -> m.OneEntity:
    """One entity, and every fact that names it (merged entities too)."""
    entities = Entities(views, point)
    slug = entities.resolve(ident)["entity"]
    facts = timeline(views, point, entities=entities.members(slug))
    refs = [m.FactRef(id=f.id, kind=f.kind, when=f.when.label, status=f.status)
            for f in facts]  # fmt: skip
    return m.OneEntity(entity=entity_json(entities.rows[slug]), facts=refs)


def slug_names(views: ViewStore, point: Point) -> dict[str, m.Named]:
    """Every entity known at `point.known_at` by its slug, and every article
    of a law by LAW:ARTICLE: what a page shows in place of a slug."""
    found: dict[str, m.Named] = {}
    for slug, row in Entities(views, point).rows.items():
        found[slug] = m.Named(kind=row["kind"], name=row["name"])
        for a in msgspec.json.decode(row["articles"]):
            found[f"{slug}:{a['number']}"] = m.Named(
                kind="article", name=f"{row['name']}, article {a['number']}",
                title=a["title"], law=slug)  # fmt: skip
    return found


def matching(found: list[m.Entity], text: str | None) -> list[m.Entity]:
    """The entities whose slug, name or an alias holds `text` (any case)."""
    if not text:
        return found
    needle = text.casefold()
    return [
        e for e in found
        if any(needle in name.casefold() for name in (e.id, e.name, *e.aliases))
    ]  # fmt: skip


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


def citations(views: ViewStore, slug: str, point: Point) -> list[m.Citing]:
    """How the facts as they stood at `point.known_at` cite source `slug`."""
    rows = views.query(
        "SELECT c.fact, c.version, c.locator, c.quote FROM view_citations c "
        "JOIN view_facts f ON f.fact = c.fact AND f.version = c.version "
        f"WHERE {point.where('c', world=False)} AND c.source = :slug "
        "AND f.retracted = 0 ORDER BY c.fact, c.locator",
        point.params | {"slug": slug},
    )
    return [m.Citing(fact=r["fact"], version=r["version"], locator=r["locator"],
                     quote=r["quote"]) for r in rows]  # fmt: skip


def source_versions(views: ViewStore, slug: str, point: Point) -> list[m.Source]:
    """Every version of source `slug` recorded by `point.known_at`, oldest first."""
    rows = views.query(
        "SELECT * FROM view_sources WHERE source = :slug AND recorded_from <= :k "
        "ORDER BY version",
        point.params | {"slug": slug},
    )
    return [source_json(r) for r in rows]


def fact_refs(views: ViewStore, slugs: list[str], point: Point) -> dict[str, m.FactRef]:
    """What the facts `slugs` are and when, as the record stood at
    `point.known_at` (no status: that needs an as-of day)."""
    params: dict[str, Any] = dict(point.params)
    rows = views.query(
        f"SELECT fact, kind, label FROM view_facts WHERE "
        f"{point.where('', world=False)} AND fact IN {_in('f', slugs, params)}",
        params,
    )
    return {r["fact"]: m.FactRef(id=r["fact"], kind=r["kind"], when=r["label"],
                                 status=None) for r in rows}  # fmt: skip


def source(views: ViewStore, slug: str, point: Point) -> m.Source:
    found = {s.id: s for s in sources(views, point)}
    index = names.index((s, [s]) for s in found)
    return found[names.resolve(slug, index, "source")]
