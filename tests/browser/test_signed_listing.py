"""Signed listings in real Chromium: the demo signs its own renders when
GIGMETRICS_SIGNING_KEYS is set; the snippet forwards each tile's data-gm-sig; a forged or
replayed beacon for the same gig is kept and shown as invalid traffic, never counted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from .conftest import ADMIN_KEY, DESKTOP_UA, REPO, VIEWPORT, Server, _free_port, demo_gigs

pytestmark = pytest.mark.browser

QUERY = '{ gigMetrics(gigId: "%s") { servedImpressions invalidTraffic { reason kind events } } }'


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("signed-server")
    port = _free_port()
    env = {
        **os.environ,
        "GIGMETRICS_DATABASE_URL": f"sqlite:///{tmp / 's.db'}",
        "GIGMETRICS_ADMIN_KEY": ADMIN_KEY,
        "GIGMETRICS_SIGNING_KEYS": "k2:fedcba9876543210fedcba,k1:0123456789abcdef0123",
        # The demo signs for anyone, so with signing on it runs only when asked for.
        "GIGMETRICS_DEMO": "true",
    }
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "server not up"
            time.sleep(0.1)
        yield Server(url, env["GIGMETRICS_DATABASE_URL"])
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def _metrics(server: Server, gig: str) -> dict[str, object]:
    response = httpx.post(f"{server.url}/graphql", json={"query": QUERY % gig},
                          headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    data: dict[str, object] = response.json()["data"]["gigMetrics"]
    return data


def test_a_forged_beacon_for_a_signed_gig_counts_only_as_invalid(
    browser: Browser, signed_server: Server
) -> None:
    path = "/demo/category/voice-over"
    gig = demo_gigs(signed_server, path)[0]
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{signed_server.url}{path}")
        page.wait_for_function("window.gigmetrics")
        tile = page.evaluate(
            f"""() => {{ const d = document.querySelector('[data-gm-gig="{gig}"]').dataset;
                return {{sig: d.gmSig, seller: d.gmSeller}}; }}"""
        )
        assert tile["sig"], "the demo signs its tiles when signing is on"
        page.evaluate("gigmetrics.flush()")
        deadline = time.monotonic() + 8
        while _metrics(signed_server, gig)["servedImpressions"] != 1:
            assert time.monotonic() < deadline, _metrics(signed_server, gig)
            time.sleep(0.1)
    finally:
        context.close()

    now = int(time.time() * 1000)
    base = {"type": "served", "gig": gig, "surface": "category", "context": "voice-over",
            "position": 1, "seller": tile["seller"], "ts": now}
    forged = [
        {**base, "id": "forged-0001", "imp": "forged-imp-1"},  # unsigned
        {**base, "id": "forged-0002", "imp": "forged-imp-2", "sig": tile["sig"][:-3] + "abc"},
        {**base, "id": "forged-0003", "imp": "forged-imp-3", "sig": tile["sig"]},  # replayed
        {**base, "id": "forged-0004", "imp": "forged-imp-4", "type": "click"},
    ]
    response = httpx.post(f"{signed_server.url}/collect",
                          content=json.dumps({"sent_at": now, "events": forged}),
                          headers={"content-type": "text/plain", "user-agent": DESKTOP_UA})
    assert response.json()["accepted"] == 4
    answer = _metrics(signed_server, gig)
    assert answer["servedImpressions"] == 1
    assert sorted((r["reason"], r["kind"], r["events"])  # type: ignore[attr-defined]
                  for r in answer["invalidTraffic"]) == [  # type: ignore[attr-defined]
        ("bad_signature", "SIVT", 1),
        ("replayed", "SIVT", 1),
        ("unsigned", "SIVT", 2),
    ]
