"""Server-rendered pages: the same views as the API, readable without scripts.

Every link carries `as_of` and `known_at`, so a page is a place on both
axes. Jinja2 escapes every stored text (autoescape).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import msgspec
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from khronika.domain.documents import FACT_KINDS
from khronika.domain.errors import KhronikaError, NotFoundError
from khronika.projections.stats import DIMENSIONS
from khronika.web import api
from khronika.web.http import answer
from khronika.web.params import POINT, Param, Query
from khronika.web.reader import Reader, State
from khronika.web.svg import picture

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
STATS = (*POINT, Param("by", "string", "Statistic.", choices=DIMENSIONS))
Page = Callable[[Query, Reader, State, dict[str, str]], tuple[str, dict[str, Any]]]


def plain(answer: Any) -> dict[str, Any]:
    """A read model as dicts, for a template."""
    found: dict[str, Any] = msgspec.to_builtins(answer)
    return found


def timeline_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = plain(api.timeline(q, r, s, path))
    drawn = picture(data["facts"], q.point().as_of)
    return "timeline.html", data | {"picture": drawn, "kinds": FACT_KINDS}


def fact_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = plain(api.fact(q, r, s, path))
    return "fact.html", data | {"trace": plain(api.trace(q, r, s, path))}


def person_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "person.html", plain(api.person_history(q, r, s, path))


def law_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "law.html", plain(api.law_state(q, r, s, path))


def stats_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    by = q.text("by") or "year"
    data = plain(api.statistics(q, r, s, {"by": by}))
    most = max([b["certain"] + b["possible"] for b in data.get("buckets", [])] or [1])
    return "stats.html", data | {"dimensions": DIMENSIONS, "most": most}


def diff_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    data = plain(api.diff(q, r, s, path)) if q.text("from") else {"changes": None}
    return "diff.html", data


def entities_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "entities.html", plain(api.entity_list(q, r, s, path))


def sources_page(q: Query, r: Reader, s: State, path: dict[str, str]) -> Any:
    return "sources.html", plain(api.source_list(q, r, s, path))


PAGES: tuple[tuple[str, str, tuple[Param, ...], Page], ...] = (
    ("/", "timeline", api.TIMELINE, timeline_page),
    ("/facts/{id}", "fact", POINT, fact_page),
    ("/person/{id}", "person", api.PERSON, person_page),
    ("/law/{id}", "law", POINT, law_page),
    ("/stats", "stats", STATS, stats_page),
    ("/diff", "diff", api.DIFF, diff_page),
    ("/entities", "entities", api.ENTITIES, entities_page),
    ("/sources", "sources", api.KNOWN_AT, sources_page),
)


def routes(reader: Reader) -> list[Route]:
    return [
        Route(path, _handler(reader, name, params, page), methods=["GET"])
        for path, name, params, page in PAGES
    ]


def _handler(reader: Reader, name: str, params: tuple[Param, ...], page: Page) -> Any:
    def respond(request: Request) -> Response:
        raw = dict(request.query_params)
        keep = {k: raw[k] for k in ("as_of", "known_at") if raw.get(k)}
        context: dict[str, Any] = {
            "page": name,
            "axes": keep,
            "link": _linker(keep),
            "query": raw,
        }

        def render(query: Query, state: State) -> Response:
            template, data = page(query, reader, state, dict(request.path_params))
            html = TEMPLATES.get_template(template).render(
                context | data | {"lag": state.lag}
            )
            return HTMLResponse(html)

        try:
            return answer(request, reader, params, name, render)
        except KhronikaError as e:
            status = 404 if isinstance(e, NotFoundError) else 400
            suggestions = e.suggestions if isinstance(e, NotFoundError) else []
            html = TEMPLATES.get_template("error.html").render(
                context
                | {"error": str(e), "status": status, "suggestions": suggestions}
            )
            return HTMLResponse(html, status)

    return reader.run(respond)


def _linker(axes: dict[str, str]) -> Callable[..., str]:
    """`link("/facts/x", kind="verdict")`: the URL, keeping the two axes."""

    def link(path: str, **extra: Any) -> str:
        params = axes | {k: v for k, v in extra.items() if v not in (None, "")}
        return f"{path}?{urlencode(params)}" if params else path

    return link
