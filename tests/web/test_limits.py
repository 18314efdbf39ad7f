"""`khronika serve`'s HTTP limits: a slow or oversize head gets its status."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from click.testing import Result

from khronika.web import limits


async def hello(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.fixture
def port(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A server on a free port, configured as `khronika serve` configures it."""
    monkeypatch.setattr(limits, "HEAD_TIMEOUT", 0.5)
    server = uvicorn.Server(limits.config(hello, "127.0.0.1", 0, log_level="error"))
    thread = threading.Thread(target=server.run)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(timeout=10)


def exchange(port: int, data: bytes, wait: float = 0) -> bytes:
    """Send `data` (then wait), and read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server answered and stopped reading: read the answer
        time.sleep(wait)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
        return answer


def status_and_problem(answer: bytes) -> tuple[str, dict[str, Any]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode(), json.loads(body)


def test_an_ordinary_request_is_answered(port: int) -> None:
    answer = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ") and b"hello" in answer


def test_a_long_request_line_gets_414(port: int) -> None:
    line = b"GET /" + b"a" * 20_000 + b" HTTP/1.1\r\n"
    status, problem = status_and_problem(exchange(port, line + b"Host: x\r\n\r\n"))
    assert status == "HTTP/1.1 414 Request-URI Too Long"
    assert problem == {"type": "about:blank", "title": "Request-URI Too Long",
                       "status": 414, "detail": "the request line is longer "
                       "than 8192 bytes"}  # fmt: skip


def test_long_headers_get_431(port: int) -> None:
    headers = b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000) for i in range(100))
    answer = exchange(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    status, problem = status_and_problem(answer)
    assert status == "HTTP/1.1 431 Request Header Fields Too Large"
    assert problem["status"] == 431


def test_a_head_that_never_ends_gets_408(port: int) -> None:
    started = time.monotonic()
    status, problem = status_and_problem(exchange(port, b"GET / HTTP/1.1\r\nHost"))
    assert status == "HTTP/1.1 408 Request Timeout"
    assert (
        problem["detail"]
        == "the request's line and headers did not arrive within 0.5 s"
    )
    assert time.monotonic() - started < 5


def test_a_connection_that_sends_nothing_is_closed(port: int) -> None:
    started = time.monotonic()
    status, _ = status_and_problem(exchange(port, b""))
    assert status == "HTTP/1.1 408 Request Timeout"
    assert time.monotonic() - started < 5


@pytest.mark.sqlite_only
def test_serve_runs_with_these_limits(
    demo: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    configs: list[uvicorn.Config] = []

    class Server:
        def __init__(self, config: uvicorn.Config) -> None:
            configs.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Server)
    result = demo("serve", "--port", str(free_port()))
    assert result.exit_code == 0, result.output
    (config,) = configs
    assert config.http is limits.LimitedH11
    assert config.timeout_keep_alive == limits.KEEP_ALIVE


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
