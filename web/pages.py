"""Server-rendered pages: the same views as the API, readable without scripts.

Every page takes the three time parameters and every link carries them
(`as_of`, `known_at`, `certain`), so a page is a place on both axes.
Jinja2 escapes every stored text (autoescape).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from khronika.domain.documents import FACT_KINDS
from khronika.domain.errors import KhronikaError, NotFoundError, ValidationError
from khronika.domain.events import recorder, stamp
from khronika.projections import lists
from khronika.projections.person import term
from khronika.projections.stats import DIMENSIONS
from khronika.web import api, passages, words
from khronika.web.http import answer
from khronika.web.params import POINT, Param, Query, with_point
from khronika.web.reader import Reader, State
from khronika.web.svg import KIND_WORDS, LANES, picture

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def grouped(text: str, size: int = 8) -> Markup:
    """A hash or a root in groups of `size`: a line may break between groups
    (`<wbr>`), never inside one, and a copy is still one string."""
    return Markup("<wbr>").join(text[i : i + size] for i in range(0, len(text), size))


DAY = re.compile(r"-?\d{4}(?:-[\dX]{2}){1,2}(?:T[\d:.]+Z)?")


def dates(text: str | datetime) -> Markup:
    """Text whose dates ("2024-06-13", a record time) are each kept on one
    line: Chromium breaks a line after a hyphen, even one between digits. A
    record time (a datetime) is shown as the CLI writes it."""
    shown = stamp(text) if isinstance(text, datetime) else text
    parts = DAY.split(shown)
    days = [Markup('<span class="nw">{}</span>').format(d) for d in DAY.findall(shown)]
    return Markup("").join(x for pair in zip_longest(parts, days, fillvalue="")
                           for x in pair)  # fmt: skip


TEMPLATES.filters |= {"grouped": grouped, "dates": dates}
TEMPLATES.globals |= {
    "sentence": words.sentence,
    "penalty": words.penalty,
    "term": term,
    "number": words.number,
    "page_of": words.page_of,
    "tag_of": words.tag_of,
    "locator": words.locator,
    "outcomes": words.OUTCOMES,
    "changes_words": words.CHANGES,
    "names": {},
    "recorder": recorder,
    "field_words": words.FIELD_WORDS,
}
TIMELINE = (
    *api.TIMELINE,
    Param("lanes", "string", "The picture's lanes.", choices=LANES),
)
STATS = (Param("by", "string", "Statistic.", choices=DIMENSIONS), *api.STATS[3:])
Page = Callable[[Query, Reader, State, dict[str, str]], tuple[str, dict[str, Any]]]


def fields(answer: Any) -> dict[str, Any]:
    """A read model's fields for a template, the parts still typed; a field
    left unset is left out."""
    found = msgspec.structs.asdict(answer)
    return {k: v for k, v in found.items() if v is not msgspec.UNSET}


def named(q: Query, r: Reader) -> dict[str, Any]:
    """The names a page shows in place of slugs (`macros.named`)."""
    return {"names": lists.slug_names(r.views, q.point())}


def timeline_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = fields(api.timeline(q, r, s, path))
    point = q.point()
    names = named(q, r)
    start, end = q.day("from", first=True), q.day("to")
    lanes = q.text("lanes") or "kind"
    drawn = picture(
        data["facts"], point.as_of, names["names"], lanes=lanes,
        start=start if start and end else None, end=end if start and end else None,
    )  # fmt: skip
    around = None
    if point.as_of is not None:  # two years either side of the as-of day
        around = (str(point.as_of.year - 2), str(point.as_of.year + 2))
    return "timeline.html", data | names | {
        "picture": drawn, "kinds": FACT_KINDS, "lanes": lanes, "lane_choices": LANES,
        "kind_words": KIND_WORDS, "around": around, "zoomed": bool(start or end),
    }  # fmt: skip


def marked(hit: Any) -> Markup:
    """A search hit's snippet with each word found in <mark> (escaped)."""
    parts, done = [], 0
    for a, b in hit.marks:
        parts += [escape(hit.snippet[done:a]), Markup("<mark>{}</mark>").format(
            hit.snippet[a:b])]  # fmt: skip
        done = b
    return Markup("").join([*parts, escape(hit.snippet[done:])])


TEMPLATES.filters["marked"] = marked


def hit_page(hit: Any) -> str:
    kind = {"fact": "facts", "entity": "entities", "source": "sources"}[hit.kind]
    return f"/{kind}/{hit.id}"


def search_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    results = api.search(q, r, s, path) if q.text("q") else None
    return "search.html", {
        "results": results, "hit_page": hit_page,
        "kind_names": {"fact": "fact", "entity": "name", "source": "source"},
        "field_names": {
            "summary": "summary", "wording": "date's wording", "quote": "quotes",
            "name": "name", "alias": "other names", "slug": "identifier",
            "title": "title", "publisher": "publisher",
            "names": "people and places, through a name",
        },
    }  # fmt: skip


def fact_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = fields(api.fact(q, r, s, path)) | {"trace": api.trace(q, r, s, path)}
    names = named(q, r)
    by_slug = {slug: n.name for slug, n in names["names"].items()}

    def said(field: str, value: object) -> str:
        return words.changed_value(field, value, by_slug)

    def cited(c: Any) -> list[passages.Part] | None:
        """The passage a citation points at, from the copy it was checked
        against (or the source's copy), if that copy is stored here."""
        text = r.app.text_of(c.copy_sha256)
        cite = passages.Cite(fact=path["id"], locator=c.locator, quote=c.quote)
        return None if text is None else passages.passage(text, cite)

    return "fact.html", data | names | {"said": said, "cited": cited}


def person_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "person.html", fields(api.person_history(q, r, s, path)) | named(q, r)


def law_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "law.html", fields(api.law_state(q, r, s, path)) | named(q, r)


def stats_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    by = q.text("by") or "year"
    data = fields(api.statistics(q, r, s, {"by": by}))
    most = max([b.certain + b.possible for b in data.get("buckets", [])] or [1])
    return "stats.html", data | named(q, r) | {
        "dimensions": DIMENSIONS, "most": most, "kinds": FACT_KINDS,
    }  # fmt: skip


def diff_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = fields(api.diff(q, r, s, path)) if q.text("from") else {"changes": None}
    return "diff.html", data


def entities_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "entities.html", fields(api.entity_list(q, r, s, path))


def entity_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "entity.html", fields(api.entity(q, r, s, path)) | named(q, r)


def sources_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "sources.html", fields(api.source_list(q, r, s, path))


def source_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = fields(api.source(q, r, s, path))
    point, slug = q.point(), data["source"].id
    data["cited_by"].sort(key=lambda c: (words.in_order(c.locator), c.fact))
    cited = sorted({c.fact for c in data["cited_by"]})
    return "source.html", data | {
        "versions": lists.source_versions(r.views, slug, point),
        "facts": lists.fact_refs(r.views, cited, point),
    }


def copy_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = fields(api.source(q, r, s, path))
    point, found = q.point(), data["source"]
    text = r.app.text_of(found.sha256)
    cites = [passages.Cite(c.fact, c.locator, c.quote) for c in data["cited_by"]]
    facts = lists.fact_refs(r.views, sorted({c.fact for c in cites}), point)
    marked = passages.marked(text, cites) if text is not None else None
    return "copy.html", data | {"paragraphs": marked, "facts": facts}


# Each page's own parameters; every page takes the time parameters too
PAGES: tuple[tuple[str, str, tuple[Param, ...], Page], ...] = (
    ("/", "timeline", TIMELINE, timeline_page),
    ("/facts/{id}", "fact", (), fact_page),
    ("/person/{id}", "person", api.PERSON, person_page),
    ("/law/{id}", "law", (), law_page),
    ("/search", "search", api.SEARCH, search_page),
    ("/stats", "stats", STATS, stats_page),
    ("/diff", "diff", api.DIFF, diff_page),
    ("/entities", "entities", api.ENTITIES, entities_page),
    ("/entities/{id}", "entity", (), entity_page),
    ("/sources", "sources", (), sources_page),
    ("/sources/{id}", "source", (), source_page),
    ("/sources/{id}/copy", "copy", (), copy_page),
)
AXES = tuple(p.name for p in POINT)  # carried by every link


def routes(reader: Reader) -> list[Route]:
    return [
        Route(path, _handler(reader, name, with_point(params), page),
              methods=["GET"])
        for path, name, params, page in PAGES
    ]  # fmt: skip


def _handler(reader: Reader, name: str, params: tuple[Param, ...], page: Page) -> Any:
    declared = {p.name for p in params}

    def respond(request: Request) -> Response:
        given = [(k, v) for k, v in request.query_params.multi_items()
                 if k in declared and v.strip()]  # fmt: skip
        links = Links(request.url.path, given)
        context: dict[str, Any] = {
            "page": name,
            "axes": links.axes,
            "link": links.to,
            "here": links.here,
            "hidden": links.hidden,
            "query": dict(given),
        }

        def render(query: Query, state: State) -> Response:
            template, data = page(query, reader, state, dict(request.path_params))
            html = TEMPLATES.get_template(template).render(
                context | data | {"lag": state.lag}
            )
            return HTMLResponse(html)

        try:
            return answer(request, reader, params, name, render, form=True)
        except KhronikaError as e:
            status = 404 if isinstance(e, NotFoundError) else 400
            suggestions = e.suggestions if isinstance(e, NotFoundError) else []
            wrong = e.field if isinstance(e, NotFoundError | ValidationError) else ""
            fixed = Links(request.url.path, [p for p in given if p[0] != wrong])
            html = TEMPLATES.get_template("error.html").render(
                context
                | {"link": fixed.to, "hidden": fixed.hidden, "error": str(e),
                   "status": status, "suggestions": suggestions}
            )  # fmt: skip
            return HTMLResponse(html, status)

    return reader.run(respond)


class Links:
    """The links of one page: each keeps the page's place on both axes
    (`as_of`, `known_at`, `certain`); `here` keeps every parameter."""

    def __init__(self, path: str, given: list[tuple[str, str]]) -> None:
        self.path = path
        self.given = given
        self.axes = {k: v for k, v in given if k in AXES}

    def to(self, path: str, **extra: Any) -> str:
        """`to("/facts/x", kind="verdict")`: the URL, keeping the axes."""
        return _url(path, [*self.axes.items(), *_present(extra)])

    def here(self, **changes: Any) -> str:
        """This page with `changes` (None drops one), keeping every other
        parameter it was given: for paging."""
        kept = [(k, v) for k, v in self.given if k not in changes]
        return _url(self.path, [*kept, *_present(changes)])

    def hidden(self, *shown: str) -> list[tuple[str, str]]:
        """The axes a form does not show, to send along as hidden fields."""
        return [(k, v) for k, v in self.axes.items() if k not in shown]


def _present(values: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, str(v)) for k, v in values.items() if v not in (None, "")]


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path
