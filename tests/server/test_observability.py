"""`GET /metrics`: what it counts, who may read it, its own port, and several workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from server.app import create_app
from server.edge.traffic import TrafficLimits
from server.observability import may_read, serve_metrics_port
from server.settings import Settings

from .conftest import ADMIN_KEY, REPO, ServerProcess, free_port

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
LOOPBACK = ("127.0.0.1", 50000)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def events_total(text: str) -> dict[str, float]:
    return {
        dict(labels)["outcome"]: value
        for (name, labels), value in samples(text).items()
        if name == "gigmetrics_events_total"
    }


def beacon(prefix: str, n: int, **extra: object) -> dict[str, object]:
    now = int(time.time() * 1000)
    events = [{"id": f"{prefix}-{i:06d}", "type": "view", "gig": "g-1", "pv": f"p{i}",
               "ts": now - 1000} for i in range(n)]
    return {"sent_at": now, "events": events, **extra}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", admin_key=ADMIN_KEY,
                        demo=False)
    with TestClient(create_app(settings), client=LOOPBACK,
                    headers={"user-agent": BROWSER_UA}) as client:
        yield client


def test_events_counter_follows_every_outcome(client: TestClient) -> None:
    before = events_total(client.get("/metrics").text)
    assert set(before) == {"accepted", "duplicate", "rejected", "invalid"}
    body = beacon("mtr-a", 3)
    body["events"].append({"id": "mtr-bad-0001", "type": "nope", "gig": "g-1", "ts": 1})  # type: ignore[union-attr]
    assert client.post("/collect", content=json.dumps(body)).json()["accepted"] == 3
    assert client.post("/collect", content=json.dumps(beacon("mtr-a", 2))).status_code == 200
    crawler = {"user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    client.post("/collect", content=json.dumps(beacon("mtr-b", 4)), headers=crawler)
    client.post("/collect", content=json.dumps(beacon("mtr-c", 1, automated=True)))
    after = events_total(client.get("/metrics").text)
    assert {k: after[k] - before[k] for k in after} == {
        "accepted": 3, "duplicate": 2, "rejected": 1, "invalid": 5,
    }


def test_request_store_and_graphql_metrics_are_exported(client: TestClient) -> None:
    client.post("/collect", content=json.dumps(beacon("mtr-d", 1)))
    auth = {"authorization": f"Bearer {ADMIN_KEY}"}
    client.post("/graphql", json={"query": "{ viewer { isAdmin } }"}, headers=auth)
    client.post("/graphql", json={"query": "{ viewer { isAdmin } }"})  # no key
    client.post("/graphql", json={"query": "{ nope }"}, headers=auth)
    found = samples(client.get("/metrics").text)
    names = {name for name, _ in found}
    for name in (
        "gigmetrics_http_request_duration_seconds_count",
        "gigmetrics_store_write_duration_seconds_count",
        "gigmetrics_store_write_group_size_count",
        "gigmetrics_graphql_operation_duration_seconds_count",
        "gigmetrics_live_subscriptions",
    ):
        assert name in names, name
    routes = {dict(labels)["route"] for name, labels in found
              if name == "gigmetrics_http_request_duration_seconds_count"}
    assert {"/collect", "/graphql"} <= routes
    errors = {dict(labels)["kind"]: v for (name, labels), v in found.items()
              if name == "gigmetrics_graphql_errors_total"}
    assert errors.get("Unauthenticated", 0) >= 1 and errors.get("Invalid", 0) >= 1


def test_an_openmetrics_accept_gets_openmetrics(client: TestClient) -> None:
    client.post("/collect", json=beacon("om", 2))
    accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    answer = client.get("/metrics", headers={"accept": accept})
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")
    assert "# TYPE gigmetrics_events counter" in answer.text
    plain = client.get("/metrics")
    assert plain.headers["content-type"].startswith("text/plain")
    assert "# EOF" not in plain.text


def test_metrics_need_the_admin_key_unless_asked_from_loopback(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", admin_key=ADMIN_KEY)
    with TestClient(create_app(settings), client=("203.0.113.9", 4000)) as remote:
        refused = remote.get("/metrics")
        assert refused.status_code == 403 and "GIGMETRICS_ADMIN_KEY" in refused.text
        allowed = remote.get("/metrics", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        assert allowed.status_code == 200 and "gigmetrics_events_total" in allowed.text
    with TestClient(create_app(settings), client=LOOPBACK) as local:
        assert local.get("/metrics").status_code == 200
        # A proxy on the same host makes every client look local: it must not open the door.
        proxied = local.get("/metrics", headers={"x-forwarded-for": "198.51.100.7"})
        assert proxied.status_code == 403


def test_access_rule() -> None:
    assert may_read("127.0.0.1", [], None) and may_read("::1", [], None)
    assert not may_read("10.0.0.2", [], None)
    assert not may_read("10.0.0.2", [("Authorization", "Bearer x")], None)
    assert may_read("10.0.0.2", [("Authorization", "Bearer k")], "k")
    assert not may_read("127.0.0.1", [("Forwarded", "for=1.2.3.4")], "k")


def test_metrics_can_be_off_or_on_a_port_of_their_own(tmp_path: Path) -> None:
    for mode in ("off", "port"):
        settings = Settings(database_url=f"sqlite:///{tmp_path}/m.db", metrics=mode)
        with TestClient(create_app(settings), client=LOOPBACK) as client:
            assert client.get("/metrics").status_code == 404
    port = free_port()
    stop = serve_metrics_port("127.0.0.1", port, None)
    try:
        page = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert page.status_code == 200 and "gigmetrics_events_total" in page.text
        open_metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5,
                                 headers={"accept": "application/openmetrics-text"})
        assert open_metrics.headers["content-type"].startswith("application/openmetrics-text")
        assert open_metrics.text.endswith("# EOF\n")
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 404
    finally:
        stop()


WORKER = """
import sys
from server.observability import count_events, exposition
count_events(int(sys.argv[1]), 1, 0, 0)
"""


def test_several_workers_add_up(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for accepted in (3, 4):
        subprocess.run([sys.executable, "-c", WORKER, str(accepted)], env=env, cwd=REPO,
                       check=True, timeout=60)
    scrape = subprocess.run(
        [sys.executable, "-c", "from server.observability import exposition; "
         "print(exposition()[0].decode())"],
        env=env, cwd=REPO, check=True, timeout=60, capture_output=True, text=True,
    ).stdout
    assert events_total(scrape) == {"accepted": 7, "duplicate": 2, "rejected": 0, "invalid": 0}


@pytest.mark.slow
def test_a_fresh_server_counts_exactly_what_it_was_sent(server_process: ServerProcess) -> None:
    server_process.start()
    url = server_process.url
    headers = {"content-type": "text/plain", "user-agent": BROWSER_UA}
    sent = [beacon("fresh-a", 20), beacon("fresh-b", 5), beacon("fresh-a", 20)]
    sent[1]["events"].append({"id": "fresh-bad-1", "type": "view"})  # type: ignore[union-attr]
    for body in sent:
        assert httpx.post(f"{url}/collect", content=json.dumps(body), headers=headers,
                          timeout=10).status_code == 200
    bot = {**headers, "user-agent": "curl/8.0"}
    httpx.post(f"{url}/collect", content=json.dumps(beacon("fresh-c", 7)), headers=bot, timeout=10)
    page = httpx.get(f"{url}/metrics", timeout=10)
    assert page.status_code == 200
    assert events_total(page.text) == {
        "accepted": 25, "duplicate": 20, "rejected": 1, "invalid": 7,
    }


def test_events_judged_invalid_are_counted_as_invalid_not_accepted(tmp_path: Path) -> None:
    # Over-rate is decided per event at the edge, not per request like a crawler.
    settings = Settings(database_url=f"sqlite:///{tmp_path}/limits.db", admin_key=ADMIN_KEY,
                        demo=False, rate_limits=TrafficLimits.parse("pv=2/minute"))
    with TestClient(create_app(settings), client=LOOPBACK,
                    headers={"user-agent": BROWSER_UA}) as client:
        before = events_total(client.get("/metrics").text)
        body = beacon("mtr-rate", 5)
        for event in body["events"]:  # type: ignore[attr-defined]
            event["pv"] = "p-one"  # one page view, past its 2 a minute
        assert client.post("/collect", content=json.dumps(body)).json()["accepted"] == 5
        after = events_total(client.get("/metrics").text)
    assert {k: after[k] - before[k] for k in after} == {
        "accepted": 2, "duplicate": 0, "rejected": 0, "invalid": 3,
    }
