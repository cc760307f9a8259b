"""`POST /collect` over HTTP: the pinned wire format, status codes and hostile bodies."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.edge.events import MAX_BODY_BYTES
from server.errors import StoreUnavailable
from server.model import BUCKET_MS, Device, Event, bucket_of
from server.settings import Settings

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)


def now_ms() -> int:
    return int(time.time() * 1000)


def served(n: int, gig: str = "g-1", *, ts: int | None = None) -> dict[str, object]:
    return {"id": f"evt-served-{gig}-{n:04d}", "type": "served", "gig": gig, "imp": f"i{n}",
            "pv": "p1", "surface": "search", "context": "logo design", "position": n + 1,
            "ts": ts if ts is not None else now_ms() - 1000}


def make_client(database_url: str, **settings: object) -> TestClient:
    app = create_app(Settings(database_url=database_url, **settings))  # type: ignore[arg-type]
    return TestClient(app, headers={"user-agent": BROWSER_UA})


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The app on a fresh database of each store kind."""
    with make_client(database_url) as c:
        yield c


def stored_served(client: TestClient, gig: str = "g-1") -> int:
    store = client.app.state.store  # type: ignore[attr-defined]
    rows = client.portal.call(  # type: ignore[union-attr]
        store.surface_totals, [gig], 0, now_ms() + BUCKET_MS
    )
    return sum(row.counts.served for row in rows)


def post(client: TestClient, body: object, content_type: str = "text/plain") -> object:
    return client.post("/collect", content=json.dumps(body), headers={"content-type": content_type})


def test_valid_batch_is_accepted_and_counted(client: TestClient) -> None:
    response = post(client, {"sent_at": now_ms(), "events": [served(i) for i in range(3)]})
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.json() == {"accepted": 3, "duplicates": 0, "rejected": []}  # type: ignore[attr-defined]
    assert stored_served(client) == 3


def test_a_tiles_variant_and_its_order_are_accepted_and_the_order_counted_once(
    client: TestClient,
) -> None:
    order = {"id": "ORD-000001", "type": "order", "gig": "g-1", "imp": "i0", "value": 25,
             "currency": "USD", "ts": now_ms() - 500}
    response = post(client, {"events": [{**served(0), "variant": "thumb-B"}, order]})
    assert response.json() == {  # type: ignore[attr-defined]
        "accepted": 2, "duplicates": 0, "rejected": []
    }
    again = post(client, {"events": [order]})  # the backend reports it too
    assert again.json() == {"accepted": 0, "duplicates": 1, "rejected": []}  # type: ignore[attr-defined]
    assert stored_served(client) == 1


IPAD_UA = ("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
           "Gecko) Version/17.6 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize(("agent", "device"), [(IPAD_UA, Device.TABLET),
                                                (BROWSER_UA, Device.DESKTOP)])
def test_events_carry_the_device_of_the_request_that_brought_them(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, agent: str, device: Device
) -> None:
    stored: list[Event] = []
    ingest = client.app.state.store.ingest  # type: ignore[attr-defined]

    async def spy(events: Any, rejections: Any) -> Any:
        stored.extend(events)
        return await ingest(events, rejections)

    monkeypatch.setattr(client.app.state.store, "ingest", spy)  # type: ignore[attr-defined]
    client.post("/collect", content=json.dumps({"events": [served(0), served(1)]}),
                headers={"content-type": "text/plain", "user-agent": agent})
    assert [e.device for e in stored] == [device, device]


def test_retried_batch_reports_duplicates_and_counts_once(client: TestClient) -> None:
    body = {"events": [served(i) for i in range(3)]}
    post(client, body)
    again = post(client, body, content_type="application/json")
    assert again.json() == {"accepted": 0, "duplicates": 3, "rejected": []}  # type: ignore[attr-defined]
    assert stored_served(client) == 3


def test_one_bad_event_never_spoils_its_batch(client: TestClient) -> None:
    bad = {**served(1), "position": 0}
    response = post(client, {"events": [served(0), bad, served(2), "nonsense"]})
    assert response.status_code == 200  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 3]
    assert "position" in body["rejected"][0]["reason"]
    assert stored_served(client) == 2
    kept = client.portal.call(client.app.state.store.rejections, 10)  # type: ignore[attr-defined,union-attr]
    assert {k.index for k in kept} == {1, 3}
    assert all(k.reason for k in kept)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'"events"', "JSON object"),
        (b"{}", '"events"'),
        (b'{"events": {}}', "list"),
        (b'{"events": [], "sent_at": "yesterday"}', "sent_at"),
        (b'{"events": [], "automated": "yes"}', "automated"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00", "not valid JSON"),
    ],
)
def test_body_of_wrong_shape_gets_400_saying_what_is_wrong(
    client: TestClient, body: bytes, says: str
) -> None:
    response = client.post("/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert says in response.json()["error"]


def test_more_than_100_events_is_400_and_nothing_is_stored(client: TestClient) -> None:
    response = post(client, {"events": [served(i) for i in range(101)]})
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "100" in response.json()["error"]  # type: ignore[attr-defined]
    assert stored_served(client) == 0


def test_exactly_100_events_is_accepted(client: TestClient) -> None:
    response = post(client, {"events": [served(i) for i in range(100)]})
    assert response.json()["accepted"] == 100  # type: ignore[attr-defined]


def test_body_over_64_kib_is_413_and_nothing_is_stored(client: TestClient) -> None:
    events = [served(i) for i in range(3)]
    body = json.dumps({"events": events}).encode()
    padded = body[:-1] + b" " * (MAX_BODY_BYTES + 1 - len(body)) + b"}"
    assert len(padded) == MAX_BODY_BYTES + 1
    response = client.post("/collect", content=padded, headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert stored_served(client) == 0


def test_body_of_exactly_64_kib_is_accepted(client: TestClient) -> None:
    body = json.dumps({"events": [served(0)]}).encode()
    padded = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    response = client.post("/collect", content=padded, headers={"content-type": "text/plain"})
    assert response.status_code == 200
    assert response.json()["accepted"] == 1


def test_streamed_body_over_limit_is_refused_without_a_content_length(client: TestClient) -> None:
    chunk = b" " * 8192

    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(10):
            yield chunk
        yield b"]}"

    response = client.post("/collect", content=chunks(), headers={"content-type": "text/plain"})
    assert response.status_code == 413


def test_declared_length_over_limit_is_refused_before_reading(client: TestClient) -> None:
    # A request that only claims to be large is answered without its body being awaited.
    response = client.post(
        "/collect",
        content=b"{}",
        headers={"content-type": "text/plain", "content-length": str(10 * 1024 * 1024)},
    )
    assert response.status_code == 413


def test_form_content_type_is_415(client: TestClient) -> None:
    response = client.post("/collect", content=b"events=1",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415


@pytest.mark.parametrize(
    "content_type", ["text/plain;charset=UTF-8", "Application/JSON", " text/plain ; charset=utf-8"]
)
def test_json_content_types_with_parameters_or_any_case_are_accepted(
    client: TestClient, content_type: str
) -> None:
    response = post(client, {"events": [served(0)]}, content_type=content_type)
    assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}  # type: ignore[attr-defined]


def test_a_body_sent_in_pieces_is_read_whole(client: TestClient) -> None:
    body = json.dumps({"events": [served(i) for i in range(3)]}).encode()

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start:start + 100]

    response = client.post("/collect", content=pieces(), headers={"content-type": "text/plain"})
    assert response.json()["accepted"] == 3


def test_client_clock_skew_is_corrected_with_sent_at(client: TestClient) -> None:
    hour = 3_600_000
    skewed_now = now_ms() + hour  # the client's clock runs an hour fast
    event = served(0, ts=skewed_now - 5000)
    response = post(client, {"sent_at": skewed_now, "events": [event]})
    assert response.json()["accepted"] == 1  # type: ignore[attr-defined]
    store = client.app.state.store  # type: ignore[attr-defined]
    # Stored at receive time - 5 s, not an hour ahead: it is in the current bucket.
    rows = client.portal.call(  # type: ignore[union-attr]
        store.surface_totals, ["g-1"], bucket_of(now_ms() - 6000), now_ms() + BUCKET_MS
    )
    assert sum(r.counts.served for r in rows) == 1


def test_event_later_than_receive_time_without_sent_at_is_rejected(client: TestClient) -> None:
    response = post(client, {"events": [served(0, ts=now_ms() + 60_000)]})
    body = response.json()  # type: ignore[attr-defined]
    assert body["accepted"] == 0
    assert "later" in body["rejected"][0]["reason"]


def test_crawler_events_are_kept_but_not_counted(client: TestClient) -> None:
    response = client.post(
        "/collect", content=json.dumps({"events": [served(0)]}),
        headers={"content-type": "text/plain", "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"},
    )
    assert response.json()["accepted"] == 1
    assert stored_served(client) == 0


def test_an_empty_batch_is_not_screened(client: TestClient, monkeypatch: Any) -> None:
    looked_at: list[str] = []
    monkeypatch.setattr("server.collect.is_crawler", lambda agent: looked_at.append(agent))
    response = client.post("/collect", content=b'{"events": []}',
                           headers={"content-type": "text/plain", "user-agent": "A" * 508})
    assert response.json() == {"accepted": 0, "duplicates": 0, "rejected": []}
    assert looked_at == []


def test_automated_flag_from_the_snippet_is_kept_but_not_counted(client: TestClient) -> None:
    response = post(client, {"automated": True, "events": [served(0)]})
    assert response.json()["accepted"] == 1  # type: ignore[attr-defined]
    assert stored_served(client) == 0


def test_cors_allows_configured_origin_and_never_cookies(database_url: str) -> None:
    with make_client(database_url, allowed_origins=("https://shop.example",)) as client:
        ok = client.post("/collect", content=json.dumps({"events": [served(0)]}),
                         headers={"origin": "https://shop.example", "content-type": "text/plain"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://shop.example"
        assert "access-control-allow-credentials" not in ok.headers
        assert "set-cookie" not in ok.headers
        refused = client.post("/collect", content=json.dumps({"events": [served(1)]}),
                              headers={"origin": "https://evil.example",
                                       "content-type": "text/plain"})
        assert refused.status_code == 403
        assert "GIGMETRICS_ALLOWED_ORIGINS" in refused.json()["error"]
        assert stored_served(client) == 1
        preflight = client.options("/collect", headers={
            "origin": "https://shop.example", "access-control-request-method": "POST"})
        assert preflight.status_code == 204
        assert "POST" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize(
    ("message", "said"),
    [
        ("disk on fire", "disk on fire: retry later"),
        ("the SQLite store cannot write (disk I/O error)",
         "the SQLite store cannot write (disk I/O error): retry later"),
    ],
)
def test_store_failure_is_503_and_not_acknowledged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, message: str, said: str
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable(message)

    monkeypatch.setattr(client.app.state.store, "ingest", broken)  # type: ignore[attr-defined]
    response = client.post("/collect", content=json.dumps({"events": [served(0)]}))
    assert response.status_code == 503
    assert response.json() == {"error": said}
    assert response.headers["retry-after"] == "5"
    monkeypatch.undo()
    assert stored_served(client) == 0
    # Nothing was acknowledged, so the sender's retry is new, not a duplicate, and counts once.
    retried = client.post("/collect", content=json.dumps({"events": [served(0)]}))
    assert retried.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert stored_served(client) == 1


def test_healthz_and_readyz(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200

    async def down() -> bool:
        raise ConnectionError("gone")

    monkeypatch.setattr(client.app.state.store, "ping", down)  # type: ignore[attr-defined]
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("bad_event", "says"),
    [
        (b'{"id": "evt-bad-0001", "type": "view", "gig": "g-1", "pv": "p9", "ts": 1e400}',
         "ts: "),
        (b'{"id": "evt-bad-0001", "type": "view", "gig": "g-1", "pv": "p9", "ts": '
         + b"9" * 10_000 + b"}", "ts: "),
        (b'{"id": "evt-bad-0001", "type": "served", "gig": "g-1", "imp": "i9", '
         b'"surface": "search", "position": -' + b"1" * 5000 + b', "ts": 1}', "position: "),
        (b'{"id": "evt-bad-0001", "type": "served", "gig": "g-1", "imp": "i9", '
         b'"surface": "search", "context": "logo \\ud800", "ts": 1}', "context: "),
        (b'{"id": "evt-\\udfff-0001", "type": "view", "gig": "g-1", "pv": "p9", "ts": 1}',
         "id: "),
    ],
)
def test_one_unparsable_number_or_string_rejects_only_its_event(
    client: TestClient, bad_event: bytes, says: str
) -> None:
    good = json.dumps(served(0)).encode()
    body = b'{"sent_at": %d, "events": [%s, %s]}' % (now_ms(), good, bad_event)
    response = client.post("/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert receipt["accepted"] == 1
    assert [r["index"] for r in receipt["rejected"]] == [1]
    assert receipt["rejected"][0]["reason"].startswith(says)
    assert len(receipt["rejected"][0]["reason"]) < 200
    assert stored_served(client) == 1
    kept = client.portal.call(client.app.state.store.rejections, 10)  # type: ignore[attr-defined,union-attr]
    assert len(kept) == 1 and len(kept[0].raw) <= 1024


@pytest.mark.parametrize(
    "body",
    [b'{"events": [NaN]}', b'{"events": [Infinity]}', b"[" * 5000 + b"]" * 5000,
     b'{"events": [], "x": "\xff"}'],
)
def test_bodies_that_are_not_json_stay_400(client: TestClient, body: bytes) -> None:
    response = client.post("/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


@pytest.mark.parametrize("sent_at", [b"1e20", b"1e400", b"-1" + b"0" * 30])
def test_sent_at_out_of_range_says_what_range_is_accepted(
    client: TestClient, sent_at: bytes
) -> None:
    body = b'{"sent_at": %s, "events": []}' % sent_at
    response = client.post("/collect", content=body, headers={"content-type": "text/plain"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "not a number" not in error
    assert "10^15" in error and "epoch milliseconds" in error
