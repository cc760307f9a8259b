"""Slow and aborted clients: read deadlines, a cap on request heads, one log line per abort."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.testclient import TestClient

from server import serving
from server.app import create_app
from server.settings import Settings

from .conftest import free_port


@pytest.fixture(params=["httptools", "h11"])
def live(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[int]:
    """The app in uvicorn with `gigmetrics serve`'s protocol, a 1-second read deadline: the
    one it picks with httptools installed, and the one it picks without."""
    monkeypatch.setattr(serving, "REQUEST_READ_TIMEOUT_S", 1.0)
    if request.param == "h11":
        real_find_spec = importlib.util.find_spec
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None
                            if name == "httptools" else real_find_spec(name, *a))
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/s.db", demo=False))
    port = free_port()
    options = {**serving.uvicorn_options(), "loop": "asyncio"}
    assert options["http"].endswith(
        "DeadlineH11Protocol" if request.param == "h11" else "DeadlineHttpToolsProtocol"
    )
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def closed_within(port: int, payload: bytes, seconds: float) -> tuple[bool, bytes]:
    """Send `payload`, then wait: was the connection closed by the server in time?"""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(payload)
        sock.settimeout(seconds)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except TimeoutError:
            return False, received
        return True, received


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # connected, never sends a byte
        b"POST /collect HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"POST /collect HTTP/1.1\r\nHost: x\r\ncontent-type: text/plain\r\n"
        b"content-length: 1000\r\n\r\n{\"events\":",  # body never finished
    ],
)
def test_a_slow_client_is_closed_at_the_read_deadline(live: int, payload: bytes) -> None:
    closed, _ = closed_within(live, payload, 5.0)
    assert closed


def test_a_request_head_over_the_cap_is_431(live: int) -> None:
    head = b"POST /collect HTTP/1.1\r\nHost: x\r\nuser-agent: " + b"a" * 100_000 + b"\r\n\r\n"
    closed, received = closed_within(live, head, 5.0)
    assert closed
    assert received.startswith(b"HTTP/1.1 431 ")


def test_a_normal_request_is_answered(live: int) -> None:
    body = b'{"events": []}'
    request = (b"POST /collect HTTP/1.1\r\nHost: x\r\ncontent-type: text/plain\r\n"
               b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
    _, received = closed_within(live, request, 5.0)
    assert received.startswith(b"HTTP/1.1 200 ")


def test_an_aborted_upload_is_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/a.db", demo=False))
    messages = iter([
        {"type": "http.request", "body": b'{"events": [', "more_body": True},
        {"type": "http.disconnect"},
    ])

    async def receive() -> object:
        return next(messages)

    async def send(message: object) -> None:
        pass

    scope = {
        "type": "http", "method": "POST", "path": "/collect", "raw_path": b"/collect",
        "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80),
        "headers": [(b"content-type", b"text/plain")], "app": app,
    }
    with TestClient(app) as client, caplog.at_level("INFO"):
        client.portal.call(app, scope, receive, send)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if "went away" in r.getMessage()]) == 1
