"""`gigMetricsUpdates` in process (Starlette's WebSocket test client): origins, arguments,
the protocol's messages. The real-client and cross-process tests are in
tests/server/test_live_updates.py."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from .api_harness import ADMIN_KEY, Api, ApiFactory, Events, now_ms

PROTOCOL = ["graphql-transport-ws"]
UPDATES = """subscription($g: ID!, $tz: String) {
  gigMetricsUpdates(gigId: $g, timeZone: $tz) { gigId servedImpressions window { timeZone } } }"""


def subscribe(api: Api, variables: dict[str, Any], origin: str | None = None) -> Any:
    headers = {"origin": origin} if origin else {}
    ws = api.client.websocket_connect("/graphql", subprotocols=PROTOCOL, headers=headers)
    socket = ws.__enter__()
    socket.send_json({"type": "connection_init",
                      "payload": {"Authorization": f"Bearer {ADMIN_KEY}"}})
    assert socket.receive_json()["type"] == "connection_ack"
    socket.send_json({"id": "1", "type": "subscribe",
                      "payload": {"query": UPDATES, "variables": variables}})
    return ws, socket


def test_current_metrics_then_each_change(api: Api, events: Events) -> None:
    api.record([events.served("g-1", "i-1", now_ms() - 1_000)])
    ws, socket = subscribe(api, {"g": "g-1", "tz": "Asia/Kolkata"})
    first = socket.receive_json()
    assert first["type"] == "next" and first["id"] == "1"
    metrics = first["payload"]["data"]["gigMetricsUpdates"]
    assert metrics == {"gigId": "g-1", "servedImpressions": 1,
                       "window": {"timeZone": "Asia/Kolkata"}}
    api.collect([events.served("g-1", "i-2", now_ms() - 1_000)])
    update = socket.receive_json()["payload"]["data"]["gigMetricsUpdates"]
    assert update["servedImpressions"] == 2
    socket.send_json({"id": "1", "type": "complete"})
    ws.__exit__(None, None, None)


def test_an_unknown_time_zone_is_refused_with_how_to_fix(api: Api) -> None:
    ws, socket = subscribe(api, {"g": "g-1", "tz": "Mars/Olympus"})
    message = socket.receive_json()
    assert message["type"] in {"next", "error"}
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert "Mars/Olympus" in errors[0]["message"]
    ws.__exit__(None, None, None)


def test_pages_of_other_origins_connect_only_when_listed(make_api: ApiFactory) -> None:
    closed = make_api()
    with pytest.raises((WebSocketDenialResponse, WebSocketDisconnect)):
        subscribe(closed, {"g": "g-1"}, origin="https://evil.example")
    listed = make_api(api_origins=("https://dash.example.com",))
    ws, socket = subscribe(listed, {"g": "g-1"}, origin="https://dash.example.com")
    assert socket.receive_json()["type"] == "next"
    ws.__exit__(None, None, None)
