"""The HTTP server's limits: a request head's time and size.

uvicorn (checked with 0.30 to 0.55) holds a connection whose request head
never ends for as long as the client likes, and answers a head longer than
h11's buffer with a bare 400 while the client is still sending, which the
client sees as a reset. Its protocol class is a documented setting
(`Config(http=…)`), so the limits live in a subclass of its h11 protocol:

- a head (request line and headers) must arrive within `HEAD_TIMEOUT`
  seconds of its first byte, or of the connection's opening: else 408;
- a request line longer than `LINE_MAX` bytes gets 414, a head longer than
  `HEAD_MAX` bytes 431;

each an RFC 9457 problem document, sent before the server stops reading and
closes, so the client reads the answer rather than a reset.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

HEAD_TIMEOUT = 10.0  # seconds
LINE_MAX = 8_192  # bytes of the request line, its CRLF excluded
HEAD_MAX = 32_768  # bytes of the request line and headers
KEEP_ALIVE = 5  # seconds an idle connection stays open between requests
LINGER = 1.0  # seconds to read and drop what a refused client still sends


class LimitedH11(H11Protocol):
    """uvicorn's h11 protocol with a time and a size limit on request heads."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head = bytearray()
        self._refused = False
        self._timer: asyncio.TimerHandle | None = self.loop.call_later(
            HEAD_TIMEOUT, self._too_slow
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # dropped while the answer goes out
        if self.conn.their_state is h11.IDLE:  # a request head is arriving
            if self._timer is None:
                self._timer = self.loop.call_later(HEAD_TIMEOUT, self._too_slow)
            self._head += data
            status = _oversize(self._head)
            if status is not None:
                self._refuse(status)
                return
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in
            self._head.clear()
            self._stop_timer()

    def _too_slow(self) -> None:
        self._timer = None
        if self.conn.their_state is h11.IDLE and not self._refused:
            self._refuse(HTTPStatus.REQUEST_TIMEOUT)

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refuse(self, status: HTTPStatus) -> None:
        """Answer `status` and close, having read on for a moment, so that
        the client is not reset before it reads the answer."""
        self._refused = True
        self._stop_timer()
        body = json.dumps(_problem(status)).encode()
        self.transport.write(
            f"HTTP/1.1 {status.value} {status.phrase}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER, self.transport.close)


def _oversize(head: bytearray) -> HTTPStatus | None:
    """414 or 431 if the head so far is past a limit; None while within."""
    line = head.find(b"\n")
    if (line == -1 and len(head) > LINE_MAX + 1) or line > LINE_MAX + 1:
        return HTTPStatus.REQUEST_URI_TOO_LONG
    end = head.find(b"\r\n\r\n")
    if (end == -1 and len(head) > HEAD_MAX) or end > HEAD_MAX:
        return HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE
    return None


def _problem(status: HTTPStatus) -> dict[str, Any]:
    detail = {
        HTTPStatus.REQUEST_TIMEOUT: f"the request's line and headers did not "
        f"arrive within {HEAD_TIMEOUT:g} s",
        HTTPStatus.REQUEST_URI_TOO_LONG: f"the request line is longer than "
        f"{LINE_MAX} bytes",
        HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: f"the request line and "
        f"headers are longer than {HEAD_MAX} bytes",
    }[status]
    return {"type": "about:blank", "title": status.phrase, "status": status.value,
            "detail": detail}  # fmt: skip


def config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for `khronika serve`, with the limits above."""
    return uvicorn.Config(
        app, host=host, port=port, http=LimitedH11,
        timeout_keep_alive=KEEP_ALIVE,
        h11_max_incomplete_event_size=HEAD_MAX + LINE_MAX,  # ours answer first
        **options,
    )  # fmt: skip
