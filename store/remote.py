"""A served chronicle as a recorder: `--store https://host:port`.

`khronika serve --writable` serves what a writer reads (streams, the
catalogue's and the registry's events, copies, the store's identity and
head) under /api/write/, and takes sealed events there. This module is an
eventsourcing recorder over those endpoints, so `Chronicle` and the
`Importer` run unchanged on the client: they read what they check against,
build the events, and the user's key seals them; `insert_events` POSTs the
sealed events, and the server checks them all again (store/accept.py).

A refusal comes back as RFC 9457 problem+json. A stream version another
writer took first comes back as eventsourcing's IntegrityError, so the
Chronicle says what it says on a local store; any other refusal is a
RemoteError holding the server's words, which are the CLI's own.
"""

from __future__ import annotations

import ipaddress
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import msgspec
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    Notification,
    ProcessRecorder,
    StoredEvent,
    Subscription,
    TrackingRecorder,
)

from khronika.domain.errors import KhronikaError, StoreError
from khronika.store.clock import Stamper
from khronika.store.copies import Hashed
from khronika.store.location import describe

PREFIX = "/api/write"
CONFLICT = "https://khronika.org/problems/stream-version-taken"
TIMEOUT = 120  # seconds: a batch of a thousand facts is checked before it is written
OCTETS = "application/octet-stream"
MAX_ANSWER = 256 * 1024 * 1024  # bytes read from one answer, at most


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """A stored event as the log holds it; `state` is base64 in JSON."""

    topic: str
    originator_id: UUID
    originator_version: int
    state: bytes
    position: int | None = None  # its log position, once recorded

    @classmethod
    def of(cls, event: StoredEvent, position: int | None = None) -> Stored:
        originator_id = event.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        return cls(
            topic=event.topic,
            originator_id=originator_id,
            originator_version=event.originator_version,
            state=bytes(event.state),
            position=position,
        )

    def stored(self) -> StoredEvent:
        return StoredEvent(
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            topic=self.topic,
            state=self.state,
        )

    def notification(self) -> Notification:
        assert self.position is not None
        return Notification(id=self.position, **self.stored().__dict__)


class Batch(msgspec.Struct, frozen=True, kw_only=True):
    """POST /api/write/events: sealed events, written all or none."""

    events: list[Stored]


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a batch: "recorded", or "already recorded" (a replay)."""

    status: str
    events: list[Stored]  # as stored, with record time and position


class Ids(msgspec.Struct, frozen=True, kw_only=True):
    ids: list[UUID]


class Meta(msgspec.Struct, frozen=True, kw_only=True):
    meta: dict[str, str]


class Head(msgspec.Struct, frozen=True, kw_only=True):
    head: int


class CopyStored(msgspec.Struct, frozen=True, kw_only=True):
    stored: bool  # False: it was there already


class Problem(msgspec.Struct, kw_only=True):
    type: str = "about:blank"
    title: str = ""
    detail: str = ""


class RemoteError(KhronikaError):
    """The served chronicle refused, or answered what a client cannot use."""


def check_url(location: str) -> str:
    """The base URL; plain http is refused except on a loopback address."""
    parts = urlsplit(location)
    if not parts.hostname:
        raise StoreError(f"{describe(location)}: the URL names no host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StoreError(
            f"{parts.scheme}://{parts.hostname}: give the server as "
            "https://HOST:PORT[/PATH], with no user name, query or fragment "
            "(the signed events are the credentials)"
        )
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise StoreError(
            f"http://{parts.hostname}: plain http only to this machine "
            "(localhost, 127.0.0.1, ::1); use https:// for a server elsewhere"
        )
    return location.rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RemoteRecorder(ApplicationRecorder):
    """The recorder of a served chronicle, over its /api/write/ endpoints."""

    def __init__(self, url: str) -> None:
        self.url = check_url(url)

    # -- HTTP ----------------------------------------------------------
    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        query: dict[str, Any] | None = None,
        media: str = "application/json",
    ) -> bytes | None:
        """The answer's bytes; None for 404 on a GET (nothing there)."""
        target = self.url + PREFIX + path
        if query:
            target += "?" + urlencode(query, doseq=True)
        request = urllib.request.Request(target, data=body, method=method)
        if body is not None:
            request.add_header("Content-Type", media)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return bytes(answer.read(MAX_ANSWER))
        except urllib.error.HTTPError as e:
            with e:
                self._refused(method, path, e.code, e.read(MAX_ANSWER))
            return None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise StoreError(f"cannot reach {self.url}: {reason}") from None

    def _refused(self, method: str, path: str, code: int, data: bytes) -> None:
        try:
            problem = msgspec.json.decode(data, type=Problem)
        except msgspec.MsgspecError:
            problem = Problem(detail=f"HTTP {code}")
        if code == 404 and path == "/meta":
            raise StoreError(
                f"{self.url} takes no writes: it is not a khronika server, or it "
                "was started without `khronika serve --writable`"
            )
        if code == 404 and method == "GET":
            return  # nothing stored there
        if problem.type == CONFLICT:
            raise IntegrityError(problem.detail)
        raise RemoteError(problem.detail or f"{self.url} answered HTTP {code}")

    def _get(self, path: str, typ: type[Any], **query: Any) -> Any:
        data = self._call("GET", path, query=query)
        if data is None:
            return None
        return self._decode(data, typ)

    def _decode(self, data: bytes, typ: type[Any]) -> Any:
        try:
            return msgspec.json.decode(data, type=typ)
        except msgspec.MsgspecError as e:
            raise RemoteError(
                f"{self.url} answered what khronika cannot read: {e}"
            ) from None

    # -- eventsourcing's recorder --------------------------------------
    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        stamper: Stamper | None = None,
        **_: Any,
    ) -> Sequence[int] | None:
        body = msgspec.json.encode(Batch(events=[Stored.of(e) for e in stored_events]))
        data = self._call("POST", "/events", body)
        assert data is not None
        recorded = self._decode(data, Recorded)
        if stamper is not None:
            stamper.stamped = [s.stored() for s in recorded.events]
        positions = [s.position for s in recorded.events if s.position is not None]
        return positions if len(positions) == len(stored_events) else None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        query = {"gt": gt, "lte": lte, "desc": "true" if desc else None, "limit": limit}
        found = self._get(
            f"/streams/{originator_id}",
            list[Stored],
            **{k: v for k, v in query.items() if v is not None},
        )
        return [s.stored() for s in found or []]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        first = (start or 1) if inclusive_of_start else (start or 0) + 1
        query: dict[str, Any] = {"start": first, "limit": limit, "topic": list(topics)}
        if stop is not None:
            query["stop"] = stop
        found = self._get("/log", list[Stored], **query)
        return [s.notification() for s in found or []]

    def max_notification_id(self) -> int | None:
        head = self._get("/head", Head)
        return head.head or None if head is not None else None

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        raise RemoteError("a served chronicle has no subscriptions")

    # -- khronika's recorder methods ------------------------------------
    def first_events(self, ids: Sequence[UUID]) -> dict[UUID, StoredEvent]:
        """The version-1 event of each of the streams that exist."""
        if not ids:
            return {}
        body = msgspec.json.encode(Ids(ids=list(ids)))
        data = self._call("POST", "/first-events", body)
        assert data is not None
        return {s.originator_id: s.stored() for s in self._decode(data, list[Stored])}

    def stream_notifications(self, originator_id: UUID) -> list[Notification]:
        found = self._get(f"/streams/{originator_id}", list[Stored], positions="true")
        return [s.notification() for s in found or []]

    def get_copy(self, sha256: str) -> bytes | None:
        return self._call("GET", f"/copies/{sha256}")

    def put_copy(self, sha256: str, content: bytes) -> bool:
        """Store an archived copy; the server refuses bytes that are not `sha256`."""
        data = self._call("PUT", f"/copies/{sha256}", content, media=OCTETS)
        assert data is not None
        stored: bool = self._decode(data, CopyStored).stored
        return stored

    def store_copy(self, copy: Hashed) -> bool:
        """Send an archived copy: one request, whose body (at most COPY_MAX
        bytes) is the whole copy, for its URL names its hash."""
        content = b"".join(copy)
        return self.put_copy(copy.sha256, content)

    def copy_size(self, sha256: str) -> int | None:
        content = self.get_copy(sha256)
        return None if content is None else len(content)

    def read_copy_chunk(self, sha256: str, offset: int, size: int) -> bytes:
        return (self.get_copy(sha256) or b"")[offset : offset + size]

    def copies(self) -> Iterator[tuple[str, bytes]]:
        raise RemoteError("the copies of a served chronicle are read on its server")

    def copy_hashes(self) -> list[str]:
        raise RemoteError("the copies of a served chronicle are read on its server")

    def read_meta(self) -> dict[str, str] | None:
        found = self._get("/meta", Meta)
        return None if found is None else dict(found.meta)

    def write_meta(self, values: dict[str, str], *, replace: bool = False) -> None:
        raise RemoteError("a served chronicle's identity is set on its server")

    def drop_meta(self, key: str) -> None:
        raise RemoteError("a served chronicle's identity is set on its server")

    def create_meta_table(self) -> None:
        raise RemoteError(
            "this served chronicle needs `khronika upgrade`, run on its server"
        )


class RemoteFactory(InfrastructureFactory[TrackingRecorder]):
    """eventsourcing's factory for PERSISTENCE_MODULE=khronika.store.remote."""

    def application_recorder(self) -> ApplicationRecorder:
        return RemoteRecorder(self.env.get("KHRONIKA_URL") or "")

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return self.application_recorder()

    def tracking_recorder(
        self, tracking_recorder_class: type[TrackingRecorder] | None = None
    ) -> TrackingRecorder:
        raise RemoteError("a served chronicle keeps its views on its server")

    def process_recorder(self) -> ProcessRecorder:
        raise RemoteError("a served chronicle keeps its views on its server")
