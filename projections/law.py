"""A law's state on a day: the penalties in force and the amendments behind them."""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain.days import shown
from khronika.domain.errors import NotFoundError
from khronika.projections import models as m
from khronika.projections.queries import Entities, Point
from khronika.projections.views import ViewStore


def law(views: ViewStore, ident: str, point: Point) -> m.Law:
    """`ident` is a law (slug, name or alias) or one article, LAW:ARTICLE.

    Its amendments are those that set a penalty of the law (or the article)
    on either side: the code that replaced it names it among the penalties
    before. With `point.certain`, only amendments certainly made by the day
    count."""
    entities = Entities(views, point)
    law_ident, _, article = ident.partition(":")
    row = entities.resolve(law_ident, kinds=("law",))
    slug = row["entity"]
    articles = {a["number"]: a["title"] for a in msgspec.json.decode(row["articles"])}
    if article and article not in articles:
        hints = [f"{slug}:{n}" for n in articles]
        raise NotFoundError("article", ident, hints[:3])
    params = point.params | {"law": slug}
    rows = views.query(
        f"SELECT p.*, f.label, f.summary, f.uncertain, {point.status('p', 'f')} "
        "AS status "
        "FROM view_penalties p JOIN view_facts f "
        "ON f.fact = p.fact AND f.version = p.version "
        f"WHERE {point.where('p', world=False)} AND EXISTS (SELECT 1 FROM "
        "view_penalties q WHERE q.fact = p.fact AND q.version = p.version "
        "AND (q.law = :law OR substr(q.article, 1, length(:law) + 1) = :law || ':')) "
        "ORDER BY p.earliest, p.latest, p.fact",
        params,
    )
    amendments: dict[str, dict[str, Any]] = {}
    law_of: dict[str, str] = {}  # each amendment's law
    for r in rows:
        law_of[r["fact"]] = r["law"]
        entry = amendments.setdefault(r["fact"], {
            "id": r["fact"], "when": r["label"], "earliest": r["earliest"],
            "latest": r["latest"], "uncertain": bool(r["uncertain"]),
            "status": r["status"], "summary": r["summary"],
            "before": [], "after": [],
        })  # fmt: skip
        entry[r["side"]].append({
            "article": r["article"], "conduct": r["conduct"],
            "min_term_months": r["min_term_months"],
            "max_term_months": r["max_term_months"],
        })  # fmt: skip
    asked = f"{slug}:{article}" if article else None
    chosen = [
        a for a in amendments.values()
        if (not asked or any(p["article"] == asked for p in a["before"] + a["after"]))
        and (not point.certain or a["status"] == "certain")
    ]  # fmt: skip
    force = in_force(chosen, point)
    base = force["since"] or (chosen[0]["id"] if chosen else None)
    owner = law_of.get(base) if base else None  # whose penalties those are
    force["applies"] = any(
        _names(p["article"], slug, asked, owner) for p in force["penalties"]
    )
    for a in chosen:  # compared as keys, shown as days
        a["earliest"], a["latest"] = shown(a["earliest"]), shown(a["latest"])
    return m.typed(
        m.Law,
        {
            "id": slug,
            "name": row["name"],
            "article": f"{slug}:{article}" if article else None,
            "article_title": articles.get(article) if article else None,
            "articles": articles,
            "as_of": point.as_of.isoformat() if point.as_of else None,
            "in_force": force,
            "amendments": chosen,
        },
    )


def _names(article: str | None, law: str, asked: str | None, owner: str | None) -> bool:
    """Whether a penalty's article is the one asked for (or of the law asked
    for); a penalty naming no article is its amendment's law's (`owner`)."""
    if asked is not None:
        return article == asked
    return owner == law if article is None else article.startswith(f"{law}:")


def in_force(amendments: list[dict[str, Any]], point: Point) -> dict[str, Any]:
    """The penalties that applied on the as-of day (or now), with certainty.

    An amendment certainly before the day sets the penalties; one that only
    possibly came before it leaves both the old and the new ones possible.
    """
    day = point.params["d"]
    before = [a for a in amendments if a["earliest"] <= day]
    if not amendments:
        return {"penalties": [], "since": None, "certain": True, "possibly": []}
    certain = [a for a in before if a["status"] == "certain"]
    possible = [a for a in before if a["status"] != "certain"]
    base = certain[-1] if certain else None
    return {
        "penalties": base["after"] if base else amendments[0]["before"],
        "since": base["id"] if base else None,
        "certain": not possible,
        "possibly": [{"id": a["id"], "penalties": a["after"]} for a in possible],
    }
