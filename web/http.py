"""Responses: JSON from msgspec, RFC 9457 problems, ETags and cache headers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from khronika import __version__
from khronika.domain.errors import (
    DuplicateError,
    KhronikaError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from khronika.web.params import Param, Query
from khronika.web.reader import Reader, State

PROBLEM = "application/problem+json"
IGNORED = "Khronika-Ignored"  # the query parameters an answer did not use
FOREVER = "public, max-age=31536000, immutable"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
# the headers a page on another origin may read (CORS), beside the simple ones
EXPOSED = ("ETag", "Link", "Khronika-Lag", "Khronika-Position", IGNORED)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def json_response(
    data: Any, status: int = 200, media: str = "application/json"
) -> Response:
    return Response(msgspec.json.encode(data), status, media_type=media)


def problem(status: int, detail: str, **extra: Any) -> Response:
    """An RFC 9457 problem document of type `about:blank`, so its title is the
    status's phrase (RFC 9457 section 4.2.1); `detail` says what went wrong."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase,
            "status": status, "detail": detail}  # fmt: skip
    return json_response(body | extra, status, PROBLEM)


def problem_of(error: KhronikaError) -> Response:
    """The problem document for an error khronika raised on purpose."""
    if isinstance(error, NotFoundError):
        named = {"parameter": error.field} if error.field else {}
        return problem(404, str(error), suggestions=error.suggestions, **named)
    if isinstance(error, ValidationError):
        return problem(400, str(error), parameter=error.field)
    if isinstance(error, StoreError):
        return problem(503, str(error))
    if isinstance(error, DuplicateError):
        return problem(409, str(error))
    return problem(400, str(error))


def answer(
    request: Request,
    reader: Reader,
    params: Sequence[Param],
    name: str,
    render: Callable[[Query, State], Response],
    *,
    form: bool = False,
) -> Response:
    """A GET answer of endpoint or page `name`: its declared query string
    checked, the views' state read, and the answer cached as it allows.
    A KhronikaError propagates, for the caller to show its way. A page's
    query comes from a `form`, which sends its empty fields too."""
    items = request.query_params.multi_items()
    query = Query([(k, v) for k, v in items if v.strip()] if form else items, params)
    state = reader.state()
    known_at = query.point().known_at if "known_at" in query.declared else None
    response = cached(
        request, state, known_at, query.world_fixed(name), lambda: render(query, state)
    )
    if query.ignored:  # percent-encoded: a header holds ASCII only
        response.headers[IGNORED] = ", ".join(quote(n, safe="") for n in query.ignored)
    return response


def cached(
    request: Request,
    state: State,
    known_at: str | None,
    world_fixed: bool,
    render: Callable[[], Response],
) -> Response:
    """`render()` with an ETag, or 304 when the client holds it already.

    An answer about a record time before the log's last event that does not
    depend on today's date (`world_fixed`) can never change: every later
    event is stamped later. It is cached for good. Any other answer's ETag
    is the log position it was read at.
    """
    settled = (
        world_fixed
        and known_at is not None
        and state.lag == 0
        and known_at < state.last_stamp
    )
    url = f"{__version__} {request.url.path}?{request.url.query}"
    digest = hashlib.sha256(url.encode()).hexdigest()[:24]
    etag = f'"{digest}"' if settled else f'"{state.head}-{state.position}-{digest}"'
    headers = {
        "ETag": etag,
        "Cache-Control": FOREVER if settled else "no-cache",
        "Khronika-Lag": str(state.lag),
        "Khronika-Position": str(state.position),
    }
    wanted = request.headers.get("if-none-match", "")
    if etag in wanted or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    response = render()
    response.headers.update(headers)
    return response
