"""graphql-transport-ws on `/graphql` in process: keys at connection_init and on every
operation, the time operations read at, malformed frames, errors with their codes, limits
per address and per key."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from server.api.limits import MAX_TOKENS

from .api_harness import ADMIN_KEY, HOUR_MS, RECORD, Api, ApiFactory, Events, now_ms

PROTOCOL = ["graphql-transport-ws"]
UPDATES = "subscription($g: ID!) { gigMetricsUpdates(gigId: $g) { gigId servedImpressions } }"
VIEWER = "{ viewer { isAdmin keyName } }"
WINDOW_END = '{ gigMetrics(gigId: "g-1") { window { end } } }'


@contextmanager
def connected(api: Api, key: str | None = ADMIN_KEY, header: str | None = None) -> Iterator[Any]:
    """A socket past connection_ack (the key in connection_init as `Bearer <key>`)."""
    with api.client.websocket_connect("/graphql", subprotocols=PROTOCOL) as socket:
        payload = {"Authorization": header or f"Bearer {key}"}
        socket.send_json({"type": "connection_init", "payload": payload})
        assert socket.receive_json()["type"] == "connection_ack"
        yield socket


def run(socket: Any, op_id: str, query: str, **variables: Any) -> dict[str, Any]:
    """Send one operation; its first answer (`next` or `error`)."""
    socket.send_json({"id": op_id, "type": "subscribe",
                      "payload": {"query": query, "variables": variables}})
    message: dict[str, Any] = socket.receive_json()
    assert message["id"] == op_id
    return message


def errors_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors of an operation's answer: an `error` message, or a `next` with errors."""
    if message["type"] == "error":
        return list(message["payload"])
    return list(message["payload"]["errors"])


def closed_with(api: Api, *frames: Any, raw: str | None = None) -> int:
    """The close code the server answers these frames with."""
    with api.client.websocket_connect("/graphql", subprotocols=PROTOCOL) as socket:
        for frame in frames:
            socket.send_json(frame)
        if raw is not None:
            socket.send_text(raw)
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                socket.receive_json()
    return closed.value.code


@pytest.mark.parametrize(
    "payload",
    [{}, {"Authorization": "Bearer gm_nope"}, {"Authorization": "Basic abc"}, None],
)
def test_a_socket_without_a_valid_key_is_closed_4403_at_connection_init(
    api: Api, payload: Any
) -> None:
    assert closed_with(api, {"type": "connection_init", "payload": payload}) == 4403


def test_a_revoked_key_is_closed_4403_at_connection_init(api: Api) -> None:
    key_id, secret = api.make_key("alice")
    api.revoke(key_id)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {secret}"}}
    assert closed_with(api, init) == 4403


def test_a_key_revoked_after_connecting_stops_working_for_queries_and_writes(
    api: Api, events: Events
) -> None:
    key_id, secret = api.make_key("alice", write=True)
    with connected(api, secret) as socket:
        assert run(socket, "1", VIEWER)["payload"]["data"]["viewer"]["isAdmin"] is False
        assert socket.receive_json()["type"] == "complete"
        api.revoke(key_id)
        refused = errors_of(run(socket, "2", VIEWER))
        assert refused[0]["extensions"]["code"] == "UNAUTHENTICATED"
        socket.receive_json()
        served = events.served("g-a", "i-1", now_ms() - HOUR_MS, seller="alice")
        write = errors_of(run(socket, "3", RECORD, events=[served]))
        assert write[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.gig("g-a")["servedImpressions"] == 0


def test_operations_read_at_their_own_time_not_the_sockets(
    api: Api, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.api as api_module

    with connected(api) as socket:
        first = run(socket, "1", WINDOW_END)["payload"]["data"]["gigMetrics"]["window"]
        socket.receive_json()
        later = now_ms() + 2 * 86_400_000
        monkeypatch.setattr(api_module, "now_ms", lambda: later)
        second = run(socket, "2", WINDOW_END)["payload"]["data"]["gigMetrics"]["window"]
        socket.receive_json()
        assert second["end"] > first["end"]
        # An event newer than the socket's opening is recorded, not refused as from the future.
        served = events.served("g-new", "i-1", later - 1_000)
        receipt = run(socket, "3", RECORD, events=[served])["payload"]["data"]["recordEvents"]
        assert receipt["accepted"] == 1, receipt


@pytest.mark.parametrize(
    ("frames", "raw"),
    [
        ([], "[1]"),
        ([], '"connection_init"'),
        ([], '{"type": 5}'),
        ([{"type": "connection_init", "payload": "Bearer x"}], None),
        ([{"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_KEY}"}}],
         '{"type": "subscribe", "id": {"a": 1}, "payload": {"query": "{ viewer { isAdmin } }"}}'),
        ([{"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_KEY}"}}],
         '{"type": "subscribe", "id": "1", "payload": "{ viewer { isAdmin } }"}'),
        ([{"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_KEY}"}}],
         '{"type": "subscribe", "id": "1", "payload": {"query": 5}}'),
        ([{"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_KEY}"}}],
         '{"type": "complete", "id": [1]}'),
    ],
)
def test_a_malformed_frame_closes_4400_without_a_traceback(
    api: Api, frames: list[Any], raw: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        assert closed_with(api, *frames, raw=raw) == 4400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ viewer { isAdmin ", {}, "GRAPHQL_PARSE_FAILED"),
        ("{ viewer { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("query($g: ID!) { gigMetrics(gigId: $g) { clicks } }", {"g": [1]}, "BAD_USER_INPUT"),
        ("{ viewer { " + "isAdmin " * MAX_TOKENS + "} }", {}, "QUERY_TOO_COMPLEX"),
        ("{ " + " ".join(f"a{i}: viewer {{ isAdmin }}" for i in range(30)) + " }", {},
         "QUERY_TOO_COMPLEX"),
        ("{ " + " ".join(
            f'a{i}: topGigs(by: CLICKS, first: 100, range: {{from: "2025-01-01", '
            f'to: "2026-02-01"}}) {{ edges {{ node {{ daily {{ clicks }} }} }} }}'
            for i in range(3)) + " }", {}, "QUERY_TOO_COMPLEX"),
    ],
)
def test_a_request_that_never_ran_is_an_error_message_with_the_http_code(
    api: Api, query: str, variables: dict[str, Any], code: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    over_http = api.client.post(
        "/graphql", json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
    ).json()
    assert over_http["errors"][0]["extensions"]["code"] == code
    with caplog.at_level(logging.INFO), connected(api) as socket:
        message = run(socket, "1", query, **variables)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == code
        # The connection stays usable.
        assert run(socket, "2", VIEWER)["type"] == "next"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_the_per_key_cap_counts_the_key_however_its_header_is_spelt(
    make_api: ApiFactory,
) -> None:
    api = make_api(live_max_per_key=2)
    _, secret = api.make_key("alice")
    api.client.portal.call(api.store.set_owner, "g-1", "alice", now_ms())  # type: ignore[union-attr]
    spellings = [f"Bearer {secret}", f"bearer  {secret} ", f"BEARER {secret}"]
    with connected(api, header=spellings[0]) as a, connected(api, header=spellings[1]) as b, \
            connected(api, header=spellings[2]) as c:
        assert run(a, "1", UPDATES, g="g-1")["type"] == "next"
        assert run(b, "1", UPDATES, g="g-1")["type"] == "next"
        third = errors_of(run(c, "1", UPDATES, g="g-1"))
        assert third[0]["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"


def test_sockets_per_address_are_bounded(make_api: ApiFactory) -> None:
    api = make_api(ws_max_per_address=2)
    with connected(api), connected(api), pytest.raises(
        (WebSocketDenialResponse, WebSocketDisconnect)
    ), connected(api):
        pass
    # Closed sockets leave room again.
    with connected(api) as socket:
        assert run(socket, "1", VIEWER)["type"] == "next"


def test_a_socket_that_never_sends_connection_init_is_closed_4408(
    make_api: ApiFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.api as api_module

    monkeypatch.setattr(api_module, "CONNECTION_INIT_TIMEOUT", timedelta(seconds=0.2))
    api = make_api()
    with api.client.websocket_connect("/graphql", subprotocols=PROTOCOL) as socket, \
            pytest.raises(WebSocketDisconnect) as closed:
        socket.receive_json()
    assert closed.value.code == 4408


def test_persisted_queries_work_over_the_socket(api: Api) -> None:
    query = "{ viewer { isAdmin keyName } }"
    persisted = {"persistedQuery": {"version": 1,
                                    "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    with connected(api) as socket:
        socket.send_json({"id": "1", "type": "subscribe", "payload": {"extensions": persisted}})
        unknown = socket.receive_json()
        assert unknown["type"] == "error"
        assert unknown["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        socket.send_json({"id": "2", "type": "subscribe",
                          "payload": {"query": query, "extensions": persisted}})
        assert socket.receive_json()["payload"]["data"]["viewer"]["keyName"] == "admin"
        assert socket.receive_json()["type"] == "complete"
        socket.send_json({"id": "3", "type": "subscribe", "payload": {"extensions": persisted}})
        assert socket.receive_json()["payload"]["data"]["viewer"]["isAdmin"] is True


def test_an_unknown_operation_name_is_an_error_message_with_http_s_code(api: Api) -> None:
    body = {"query": "query A { viewer { isAdmin } }", "operationName": "B"}
    over_http = api.client.post("/graphql", json=body, headers={
        "authorization": f"Bearer {ADMIN_KEY}"}).json()
    with connected(api) as socket:
        socket.send_json({"id": "1", "type": "subscribe", "payload": body})
        message = socket.receive_json()
    assert message["type"] == "error"
    assert message["payload"][0]["extensions"] == over_http["errors"][0]["extensions"] == {
        "code": "BAD_REQUEST"}
