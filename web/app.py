"""The Starlette application: routes, errors as problems, security headers."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import URL, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from khronika.domain.errors import KhronikaError
from khronika.projections.deadline import TIME_LIMIT
from khronika.web import pages
from khronika.web.api import ENDPOINTS, Endpoint, next_page
from khronika.web.http import (
    EXPOSED,
    SECURITY,
    answer,
    json_response,
    problem,
    problem_of,
)
from khronika.web.openapi import document
from khronika.web.params import Query
from khronika.web.reader import Reader, State
from khronika.web.tlog import routes as tlog_routes
from khronika.web.write import Writer
from khronika.web.write import routes as write_routes

STATIC = pages.HERE / "static"
GZIP_FROM = 1024  # bytes: a smaller answer is sent as it is


def create_app(
    location: str,
    refresh_every: float = 1.0,
    *,
    writable: bool = False,
    cors: Sequence[str] = (),
    time_limit: float = TIME_LIMIT,
) -> Starlette:
    """The service over the store at `location`; it keeps the views current.

    `writable` adds the write endpoints under /api/write/ (web/write.py);
    without it there are none. `cors` are the origins whose pages may read
    the answers (`*` for any), by GET only; without it, none. Answers of
    GZIP_FROM bytes or more are gzipped for a client that accepts it. A read
    of the views running past `time_limit` seconds answers 503.
    """
    reader = Reader(location, time_limit)
    routes: list[BaseRoute] = []
    writer: Writer | None = None
    if writable:
        routes, writer = write_routes(location)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = threading.Thread(
            target=reader.keep_current, args=(stop, refresh_every), daemon=True
        )
        worker.start()
        try:
            yield
        finally:
            stop.set()
            worker.join()
            reader.close()
            if writer is not None:
                writer.close()

    routes += [_route(reader, e) for e in ENDPOINTS]
    routes += [
        Route("/api/openapi.json", lambda _: json_response(document(writable))),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *pages.routes(reader),
        *tlog_routes(reader),
    ]
    middleware = [Middleware(SecurityHeaders), Middleware(GZipMiddleware,
                  minimum_size=GZIP_FROM)]  # fmt: skip
    if cors:
        middleware.insert(0, Middleware(
            CORSMiddleware, allow_origins=list(cors), allow_methods=["GET"],
            expose_headers=list(EXPOSED), max_age=600,
        ))  # fmt: skip
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=middleware,
        exception_handlers={HTTPException: _http_problem, Exception: _crash},
    )
    app.state.reader = reader
    return app


class SecurityHeaders:
    """Adds the Content-Security-Policy and friends to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY)
            await send(message)

        await self.app(
            scope, receive, with_headers if scope["type"] == "http" else send
        )


def _route(reader: Reader, endpoint: Endpoint) -> Route:
    def respond(request: Request) -> Response:
        path = dict(request.path_params)

        def render(query: Query, state: State) -> Response:
            found = endpoint.handler(query, reader, state, path)
            response = json_response(found)
            following = next_page(found, query) if endpoint.paged else None
            if following is not None:  # RFC 8288, relative to this answer
                url = URL(str(request.url)).include_query_params(**following)
                response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
            return response

        try:
            return answer(request, reader, endpoint.params, endpoint.name, render)
        except KhronikaError as e:
            return problem_of(e)

    return Route(endpoint.path, reader.run(respond), methods=["GET"],
                 name=endpoint.name)  # fmt: skip


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = {
        404: f"no page or endpoint at {request.url.path}; see /api/openapi.json",
        405: f"{request.method} is not allowed here: khronika's service only "
        "reads (GET), and takes signed writes under /api/write/ when started "
        "with `khronika serve --writable`",
    }
    response = problem(exc.status_code, detail.get(exc.status_code, str(exc.detail)))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _crash(request: Request, exc: Exception) -> Response:
    return problem(500, f"the server failed: {type(exc).__name__}")
