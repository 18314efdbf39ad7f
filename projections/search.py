"""One search across facts, entities and sources, at a point on both axes.

The full-text index finds the candidates (SQLite FTS5, PostgreSQL's GIN
index: `schema.search_statements`), every word of the query as the start of
a word, case and diacritics folded (`text.fold`). The ranking and the
snippets are computed here, from the rows, so that both databases give the
same answer in the same order:

- a field's score is its weight times the share of the query's words it
  holds (a whole word counts twice a word's start);
- a record's score is the sum over its fields;
- a fact is also found through an entity it names, by its name or by an
  alias in another script, at half that entity's score.

Ties go by kind (entities, facts, sources), then by slug.
"""

from __future__ import annotations

from typing import Any

import msgspec

from khronika.domain.errors import ValidationError
from khronika.domain.text import check_line
from khronika.projections import models as m
from khronika.projections.queries import Point, fact_json
from khronika.projections.schema import SEARCH_VECTOR
from khronika.projections.text import LONGEST, WORD, fold, words
from khronika.projections.views import ViewStore

SEARCH_MAX = 300
MOST_WORDS = 12
SNIPPET = 160  # characters around the first word found
WEIGHTS = {
    "name": 4.0, "alias": 3.0, "slug": 2.0,
    "title": 3.0, "publisher": 1.0,
    "summary": 2.0, "quote": 2.0, "wording": 1.0,
}  # fmt: skip
KIND_ORDER = {"entity": 0, "fact": 1, "source": 2}
THROUGH = 0.5  # a fact found through an entity it names: this share of its score


def search(views: ViewStore, point: Point, text: str, limit: int = 50) -> m.Search:
    """The records holding every word of `text`, best first."""
    check_line("query", text, SEARCH_MAX)
    terms = list(dict.fromkeys(w[:LONGEST] for w in words(text)))[:MOST_WORDS]
    if not terms:
        raise ValidationError("query", f"'{text}' has no letters or digits to find")
    hits: dict[tuple[str, str], m.Hit] = {}
    for row in _candidates(views, "view_entities", point, terms):
        aliases = msgspec.json.decode(row["aliases"])
        fields = [("name", row["name"]), *(("alias", a) for a in aliases),
                  ("slug", row["entity"])]  # fmt: skip
        hit = _hit("entity", row["entity"], row["name"], fields, terms)
        if hit:
            hits["entity", hit.id] = hit
    for row in _candidates(views, "view_sources", point, terms):
        fields = [("title", row["title"]), ("publisher", row["publisher"])]
        hit = _hit("source", row["source"], row["title"], fields, terms)
        if hit:
            hits["source", hit.id] = hit
    for row in _candidates(views, "view_facts", point, terms, facts=True):
        fact = fact_json(row)
        fields = [("summary", fact.summary), ("wording", fact.when.wording or ""),
                  *(("quote", c.quote or "") for c in fact.sources)]  # fmt: skip
        hit = _hit("fact", fact.id, _fact_title(fact), fields, terms, fact.status)
        if hit:
            hits["fact", hit.id] = hit
    _through_entities(views, point, hits)
    ranked = sorted(hits.values(), key=lambda h: (-h.score, KIND_ORDER[h.kind], h.id))
    return m.Search(**point.header(views.lag), query=text, hits=ranked[:limit])


def _candidates(
    views: ViewStore, table: str, point: Point, terms: list[str], *, facts: bool = False
) -> list[Any]:
    """Rows of `table` at `point` whose words start with every term."""
    params: dict[str, Any] = dict(point.params)
    if views.collate:  # PostgreSQL: the query as a tsquery literal, unparsed
        params["q"] = " & ".join(f"'{t}':*" for t in terms)
        found = f"{SEARCH_VECTOR.format('r.search')} @@ CAST(:q AS tsquery)"
    else:
        params["q"] = " ".join(f'"{t}"*' for t in terms)
        found = f"r.rowid IN (SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH :q)"
    if facts:
        select = f"SELECT r.*, {point.status('r')} AS status FROM {table} r"
        where = f"{point.where('r')} AND r.retracted = 0"
    else:
        select, where = f"SELECT r.* FROM {table} r", point.where("r", world=False)
    return views.query(f"{select} WHERE {where} AND {found}", params)


def _hit(
    kind: str,
    slug: str,
    title: str,
    fields: list[tuple[str, str]],
    terms: list[str],
    status: str | None = None,
) -> m.Hit | None:
    scored = []
    held: set[str] = set()
    for name, text in fields:
        found = _found(text, terms)
        if not found:
            continue
        held |= {t for t, _ in found}
        whole = {t for t, exact in found if exact}
        share = (len({t for t, _ in found}) + len(whole)) / (2 * len(terms))
        scored.append((WEIGHTS[name] * share, name, text))
    if held != set(terms):  # the index saw every word in the record: confirm
        return None
    score = round(sum(s for s, _, _ in scored), 4)
    _, field, text = max(scored, key=lambda s: s[0])
    snippet, marks = _snippet(text, terms)
    return m.Hit(kind=kind, id=slug, title=title, score=score, field=field,
                 snippet=snippet, marks=marks, status=status)  # fmt: skip


def _found(text: str, terms: list[str]) -> list[tuple[str, bool]]:
    """(term, whether a whole word) for each term a word of `text` starts with."""
    found = []
    folded = set(words(text))
    for t in terms:
        if t in folded:
            found.append((t, True))
        elif any(w.startswith(t) for w in folded):
            found.append((t, False))
    return found


def _snippet(text: str, terms: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Up to SNIPPET characters of `text` around its first word found, and
    where each word found is in it."""
    spans = [
        (w.start(), w.end())
        for w in WORD.finditer(text)
        if any(fold(w.group()).startswith(t) for t in terms)
    ]
    start, end = 0, len(text)
    if len(text) > SNIPPET:
        first = spans[0][0] if spans else 0
        start = max(0, first - SNIPPET // 3)
        while start > 0 and not text[start - 1].isspace():
            start -= 1
        end = min(len(text), start + SNIPPET)
        while end < len(text) and not text[end].isspace():
            end += 1
    lead = "…" if start > 0 else ""
    shown = lead + text[start:end].strip() + ("…" if end < len(text) else "")
    shift = len(lead) - start - (len(text[start:end]) - len(text[start:end].lstrip()))
    marks = [(a + shift, b + shift) for a, b in spans if a >= start and b <= end]
    return shown, marks


def _fact_title(f: m.Fact) -> str:
    return f"{f.when.label} · {f.kind.replace('_', ' ')}"


def _through_entities(
    views: ViewStore, point: Point, hits: dict[tuple[str, str], m.Hit]
) -> None:
    """Add the facts naming an entity found, or raise the score of those
    found already, at THROUGH of the entity's score."""
    found = {h.id: h for (kind, _), h in hits.items() if kind == "entity"}
    if not found:
        return
    params: dict[str, Any] = dict(point.params)
    keys = []
    for i, slug in enumerate(sorted(found)):
        params[f"e{i}"] = slug
        keys.append(f":e{i}")
    rows = views.query(
        f"SELECT r.entity AS named, f.*, {point.status('f')} AS status "
        "FROM view_roles r JOIN view_facts f "
        "ON f.fact = r.fact AND f.version = r.version "
        f"WHERE {point.where('r', facts='f')} AND {point.where('f')} "
        "AND f.retracted = 0 "
        f"AND r.entity IN ({', '.join(keys)})",
        params,
    )
    for row in sorted(rows, key=lambda r: (r["fact"], r["named"])):
        entity = found[row["named"]]
        extra = round(entity.score * THROUGH, 4)
        key = ("fact", row["fact"])
        if key in hits:
            hit = hits[key]
            if hit.via is None and hit.field != "names":
                hits[key] = msgspec.structs.replace(
                    hit, score=round(hit.score + extra, 4), via=entity.id
                )
            continue
        fact = fact_json(row)
        said = f"names {entity.title}"
        if entity.field != "name":
            said += f" ({entity.snippet})"
        shift = len(said) - len(entity.snippet) - 1 if entity.field != "name" else 6
        marks = [(a + shift, b + shift) for a, b in entity.marks]
        hits[key] = m.Hit(kind="fact", id=fact.id, title=_fact_title(fact),
                          score=extra, field="names", snippet=said, marks=marks,
                          status=fact.status, via=entity.id)  # fmt: skip
