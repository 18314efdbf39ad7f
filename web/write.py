"""Writes over HTTP (`khronika serve --writable`): /api/write/.

What a remote writer reads to build events as a local one does (a stream,
the catalogue's and the registry's events, a copy, the store's identity
and head), in the stored form that `codec.decode` reads; a copy by its
SHA-256; and sealed events, which store/accept.py checks again before
writing them. There are no passwords, sessions or cookies: each event's
signed intent is the authentication (README, "Writes over HTTP").
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from khronika.domain.errors import (
    ConflictError,
    DuplicateError,
    KhronikaError,
    NotFoundError,
    StoreError,
    ValidationError,
)
from khronika.domain.events import MaintainerEvent
from khronika.store.accept import TOPICS, accept
from khronika.store.app import Chronicle
from khronika.store.catalogue import Catalogue
from khronika.store.remote import (
    CONFLICT,
    PREFIX,
    Batch,
    CopyStored,
    Head,
    Ids,
    Meta,
    Recorded,
    Stored,
)
from khronika.store.signing import SigningError
from khronika.web.http import json_response, problem

MAX_BATCH = 128 * 1024 * 1024  # bytes of one POST of events
MAX_COPY = 64 * 1024 * 1024  # bytes of one archived copy
MAX_PAGE = 10_000  # events per page of the log
MAX_IDS = 100_000
# What a writer reads of the log: the catalogue's, the registry's, the facts'.
READABLE = {
    topic
    for topic, cls in TOPICS.items()
    if cls in Catalogue.EVENT_TYPES or issubclass(cls, MaintainerEvent)
} | set(Catalogue.FACT_TOPICS)
SHA256 = re.compile(r"[0-9a-f]{64}")


class BadRequestError(KhronikaError):
    """A request that is not what the endpoint takes."""


class Writer:
    """The store as the write endpoints see it; one batch is checked at a time."""

    def __init__(self, location: str) -> None:
        self.app = Chronicle(location)
        self.app.signed_only = True  # it never signs: every event comes sealed
        self.lock = threading.Lock()

    def close(self) -> None:
        self.app.close()

    def meta(self, request: Request, body: bytes) -> Any:
        return Meta(meta=self.app.store.read_meta() or {})

    def head(self, request: Request, body: bytes) -> Any:
        return Head(head=self.app.recorder.max_notification_id() or 0)

    def stream(self, request: Request, body: bytes) -> Any:
        q = request.query_params
        sid = _uuid(request.path_params["id"])
        if q.get("positions") == "true":
            found = self.app.store.stream_notifications(sid)
            return [Stored.of(n, n.id) for n in found]
        events = self.app.recorder.select_events(
            sid,
            gt=_int(q.get("gt")),
            lte=_int(q.get("lte")),
            desc=q.get("desc") == "true",
            limit=_int(q.get("limit")),
        )
        return [Stored.of(e) for e in events]

    def log(self, request: Request, body: bytes) -> Any:
        q = request.query_params
        topics = q.getlist("topic")
        if not topics or not set(topics) <= READABLE:
            raise BadRequestError(
                "topic: name the event types to read (the catalogue's, the "
                "registry's or FactRecorded)"
            )
        found = self.app.recorder.select_notifications(
            _int(q.get("start")) or 1,
            min(_int(q.get("limit")) or MAX_PAGE, MAX_PAGE),
            stop=_int(q.get("stop")),
            topics=topics,
        )
        return [Stored.of(n, n.id) for n in found]

    def first_events(self, request: Request, body: bytes) -> Any:
        ids = _decode(body, Ids).ids
        if len(ids) > MAX_IDS:
            raise BadRequestError(f"ids: at most {MAX_IDS:,} a request")
        return [Stored.of(s) for s in self.app.store.first_events(ids).values()]

    def get_copy(self, request: Request, body: bytes) -> Any:
        sha256 = _sha256(request)
        content = self.app.store.get_copy(sha256)
        if content is None:
            raise NotFoundError("archived copy", sha256)
        return Response(content, media_type="application/octet-stream")

    def put_copy(self, request: Request, body: bytes) -> Any:
        sha256 = _sha256(request)
        if hashlib.sha256(body).hexdigest() != sha256:
            raise ValidationError(
                "file", "the copy's SHA-256 is not its name: it was altered"
            )
        return CopyStored(stored=self.app.store.put_copy(sha256, body))

    def events(self, request: Request, body: bytes) -> Any:
        batch = [s.stored() for s in _decode(body, Batch).events]
        with self.lock:  # the Chronicle's clock and `derive` are one writer's
            done = accept(self.app, batch)
        status = "already recorded" if done.replay else "recorded"
        return Recorded(status=status, events=[Stored.of(s) for s in done.stored])


def routes(location: str) -> tuple[list[BaseRoute], Writer]:
    """The write endpoints over the store at `location`, and their Writer."""
    writer = Writer(location)
    found: list[BaseRoute] = [
        _route("/meta", "GET", writer.meta),
        _route("/head", "GET", writer.head),
        _route("/streams/{id}", "GET", writer.stream),
        _route("/log", "GET", writer.log),
        _route("/first-events", "POST", writer.first_events, MAX_BATCH),
        _route("/copies/{sha256}", "GET", writer.get_copy),
        _route("/copies/{sha256}", "PUT", writer.put_copy, MAX_COPY),
        _route("/events", "POST", writer.events, MAX_BATCH),
    ]
    return found, writer


Handler = Callable[[Request, bytes], Any]


def _route(path: str, method: str, handler: Handler, cap: int = 0) -> Route:
    async def endpoint(request: Request) -> Response:
        try:
            body = await _body(request, cap)
            answer = await run_in_threadpool(handler, request, body)
        except (KhronikaError, IntegrityError) as e:
            return write_problem(e)
        if isinstance(answer, Response):
            return answer
        return json_response(answer)

    name = f"write-{method.lower()}-{path.strip('/').split('/')[0]}"
    return Route(PREFIX + path, endpoint, methods=[method], name=name)


async def _body(request: Request, cap: int) -> bytes:
    """The request's content, refused once it grows past `cap` bytes."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise BadRequestError(f"the request is larger than {cap:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def write_problem(error: Exception) -> Response:
    """An RFC 9457 problem naming why a write was refused; nothing was written."""
    detail = str(error)
    if isinstance(error, SigningError):
        return problem(403, detail)
    if isinstance(error, IntegrityError | DuplicateError | ConflictError):
        return problem(409, detail, type=CONFLICT)
    if isinstance(error, ValidationError):
        return problem(422, detail, parameter=error.field)
    if isinstance(error, NotFoundError):
        status = 404 if error.what == "archived copy" else 422
        named = {"parameter": error.field} if error.field else {}
        return problem(status, detail, suggestions=error.suggestions,
                       **named)  # fmt: skip
    if isinstance(error, StoreError):
        return problem(503, detail)
    if isinstance(error, BadRequestError):
        return problem(400, detail)
    return problem(422, detail)


def _decode(body: bytes, typ: type[Any]) -> Any:
    try:
        return msgspec.json.decode(body, type=typ)
    except msgspec.MsgspecError as e:
        raise BadRequestError(f"the request's JSON: {e}") from None


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise BadRequestError(f"'{text[:40]}' is not a stream id") from None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise BadRequestError(f"'{text[:20]}' is not a whole number")
    return int(text)


def _sha256(request: Request) -> str:
    sha256: str = request.path_params["sha256"]
    if not SHA256.fullmatch(sha256):
        raise BadRequestError("a copy is named by its SHA-256: 64 hex digits")
    return sha256
