"""One structured line per request, a request id in and out, no tracebacks for client mistakes."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.request_log import JsonFormatter
from server.settings import Settings

from .conftest import ServerProcess


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(Settings(database_url=f"sqlite:///{tmp_path}/r.db")))


def test_every_response_carries_a_request_id(client: TestClient) -> None:
    with client:
        first, second = client.get("/healthz"), client.get("/nowhere")
        assert first.headers["x-request-id"] != second.headers["x-request-id"]
        assert len(first.headers["x-request-id"]) == 16 and second.status_code == 404
        kept = client.get("/healthz", headers={"x-request-id": "lb-7f3a9c21-0001"})
        assert kept.headers["x-request-id"] == "lb-7f3a9c21-0001"
        for insane in ("short", "x" * 300, "has space in it", "quote\"d-value"):
            replaced = client.get("/healthz", headers={"x-request-id": insane})
            assert replaced.headers["x-request-id"] != insane


def test_one_line_per_request_with_its_fields(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with client, caplog.at_level(logging.INFO, logger="gigmetrics.request"):
        response = client.get("/demo/gig/g-101")
    [record] = [r for r in caplog.records if r.name == "gigmetrics.request"]
    fields = record.request  # type: ignore[attr-defined]
    assert fields["request_id"] == response.headers["x-request-id"]
    assert (fields["method"], fields["path"], fields["route"]) == (
        "GET", "/demo/gig/g-101", "/demo/gig/{gig}")
    assert fields["status"] == 200 and fields["duration_ms"] >= 0
    assert "GET /demo/gig/g-101 200" in record.getMessage()
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == fields["request_id"] and line["level"] == "info"
    assert line["time"].endswith("Z") and line["status"] == 200


@pytest.mark.slow
def test_client_mistakes_leave_one_line_each_and_no_traceback(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path}/gm.db", tmp_path / "gm.log",
                           env={"GIGMETRICS_LOG_FORMAT": "json"},
                           log_level="info")
    try:
        server.start()
        url = server.url
        mistakes = [
            httpx.post(f"{url}/collect", content=b"{not json", timeout=5),
            httpx.post(f"{url}/collect", content=b"x" * 70_000, timeout=5),
            httpx.put(f"{url}/collect", content=b"{}", timeout=5),
            httpx.get(f"{url}/no/such/page", timeout=5),
            httpx.post(f"{url}/graphql", content=b"{", timeout=5,
                       headers={"content-type": "application/json"}),
            httpx.post(f"{url}/graphql", json={"query": "{ nope"}, timeout=5),
        ]
        assert all(r.status_code < 500 for r in mistakes), [r.status_code for r in mistakes]
        # A client that hangs up halfway through its body.
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                         b"Content-Length: 5000\r\n\r\n{\"events\": [")
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")
            sock.recv(1000)
        httpx.get(f"{url}/healthz", timeout=5)
    finally:
        server.stop()
    log = server.log
    assert "Traceback" not in log, log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "gigmetrics.request"]
    ids = {r["request_id"] for r in requests}
    for response in mistakes:
        assert response.headers["x-request-id"] in ids
    # The client that hung up is a line too (the collector's 400, or 499 when the app raised).
    assert sum(r["path"] == "/collect" for r in requests) >= 4, requests


def test_one_line_per_websocket_connection_with_its_close_code(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with client, caplog.at_level(logging.INFO, logger="gigmetrics.request"), \
            client.websocket_connect(
                "/graphql", subprotocols=["graphql-transport-ws"],
                headers={"x-request-id": "ws-test-0000001"},
            ) as socket:
        socket.send_json({"type": "connection_init",
                          "payload": {"Authorization": "Bearer gm_unknown_secret"}})
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()
    [record] = [r for r in caplog.records if r.name == "gigmetrics.request"]
    fields = record.request  # type: ignore[attr-defined]
    assert (fields["method"], fields["path"], fields["status"], fields["close_code"]) == (
        "WS", "/graphql", 101, 4403)
    assert (fields["frames_in"], fields["request_id"]) == (1, "ws-test-0000001")
    assert "gm_unknown_secret" not in record.getMessage() + json.dumps(fields)
