"""Batching and the network: text/plain JSON beacons, flushed when the page is hidden or left,
fetch keepalive when the beacon is refused, payloads under 60 KB."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page

from .conftest import Beacons, Server, Site, check, emulate_visibility, set_visibility, tiles

pytestmark = pytest.mark.browser

SERVED_FIELDS = {"id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts"}


def test_events_wait_in_a_batch_until_the_page_is_hidden(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"batch{i}") for i in range(3)]
    emulate_visibility(page)
    page.goto(site.add("p", '<section data-gm-list="search">' + tiles(gigs) + "</section>"))
    page.wait_for_timeout(500)
    assert beacons.sent == []  # queued, not sent one by one

    set_visibility(page, "hidden")
    beacons.wait_event("served", count=3)
    assert len(beacons.sent) == 1
    assert sorted(e["gig"] for e in beacons.sent[0].payload["events"]) == sorted(gigs)
    for metrics in server.eventually(lambda: _served(server, gigs)).values():
        check(metrics, served=1)


def test_leaving_the_page_sends_the_queue(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"leave{i}") for i in range(3)]
    page.goto(site.add("p", '<section data-gm-list="category">' + tiles(gigs) + "</section>"))
    page.wait_for_function("window.gigmetrics")
    assert beacons.events() == []
    page.goto(f"{server.url}/healthz")  # pagehide: the queue leaves with the page

    # Only the relay sees a beacon sent while the page unloads.
    served = beacons.wait_event("served", count=3)
    assert sorted(e["gig"] for e in served) == sorted(gigs)
    [request] = beacons.relayed()
    assert request.content_type.split(";")[0] == "text/plain"
    server.eventually(lambda: _served(server, gigs))


def test_beacons_are_text_plain_json_in_the_pinned_shape(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    tile, page_gig = site.gig("shape"), site.gig("shape-page")
    page.goto(site.add("p", '<section data-gm-list="search" data-gm-context="logo design">'
                       + tiles([tile]) + f'</section><main data-gm-page-gig="{page_gig}" '
                       'data-gm-seller="s2"></main>'))
    page.wait_for_timeout(1300)
    beacons.flush()
    beacons.wait_event("viewable", tile)
    page.click(f"[data-gm-gig='{tile}']")
    beacons.wait_event("click", tile)

    for beacon in beacons.sent:
        assert beacon.method == "POST" and beacon.resource_type == "ping"  # sendBeacon
        assert beacon.content_type.split(";")[0] == "text/plain"  # no CORS preflight
        assert beacon.url == f"{site.relay.origin}/collect"
        payload = beacon.payload
        assert set(payload) == {"sent_at", "automated", "events"}
        assert payload["automated"] is False
        assert abs(payload["sent_at"] - time.time() * 1000) < 60_000
        assert all(e["ts"] <= payload["sent_at"] for e in payload["events"])
    [served] = beacons.events("served")
    assert set(served) == SERVED_FIELDS
    assert (served["surface"], served["context"]) == ("search", "logo design")
    assert served["position"] == 1
    [viewable] = beacons.events("viewable")
    # The listing's surface and context ride on every tile event, so the server can check a
    # signed tile's token (data-gm-sig, absent here) on whichever event arrives.
    assert set(viewable) == {"id", "type", "gig", "seller", "imp", "surface", "context", "ts"}
    assert (viewable["surface"], viewable["context"]) == ("search", "logo design")
    [click] = beacons.events("click")
    assert set(click) == {"id", "type", "gig", "seller", "imp", "surface", "context", "ts"}
    [view] = beacons.events("view")
    assert set(view) == {"id", "type", "gig", "seller", "pv", "ts"}
    assert served["imp"] == viewable["imp"] == click["imp"]
    assert served["pv"] != view["pv"]  # the listing's render and the gig page's own view
    ids = [e["id"] for e in beacons.events()] + [served["imp"], served["pv"]]
    assert all(len(i) >= 16 and i.replace("-", "").replace("_", "").isalnum() for i in ids)
    server.eventually(lambda: check(server.gig(tile), served=1, viewable=1, clicks=1))
    check(server.gig(page_gig), views=1)


@pytest.mark.parametrize("beacon", ["missing", "refusing"])
def test_fetch_keepalive_takes_over_when_there_is_no_beacon(
    beacon: str, page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"fetch{i}") for i in range(2)]
    page.add_init_script(
        ("delete Navigator.prototype.sendBeacon;" if beacon == "missing"
         else "Navigator.prototype.sendBeacon = () => false;")
        + """const realFetch = window.fetch; window.__fetches = [];
             window.fetch = (url, init) => {
               window.__fetches.push(init); return realFetch(url, init); };"""
    )
    page.goto(site.add("p", '<section data-gm-list="search">' + tiles(gigs) + "</section>"))
    beacons.flush()
    beacons.wait_event("served", count=2)

    assert [b.resource_type for b in beacons.sent] == ["fetch"]
    assert beacons.sent[0].content_type.split(";")[0] == "text/plain"
    [init] = page.evaluate("window.__fetches")
    assert (init["method"], init["keepalive"]) == ("POST", True)
    server.eventually(lambda: _served(server, gigs))


def test_five_hundred_tiles_go_out_in_payloads_under_60_kb(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"many{i:03d}") for i in range(500)]
    context = "検索語" * 42  # 126 characters, 378 bytes of UTF-8
    page.goto(site.add("p", f'<section data-gm-list="search" data-gm-context="{context}">'
                       + tiles(gigs) + "</section>"))
    beacons.flush()
    beacons.wait_event("served", count=500)

    assert len(beacons.sent) >= 5
    for beacon in beacons.sent:
        assert len(beacon.body) < 60_000
        assert len(beacon.payload["events"]) <= 100
    served = beacons.events("served")
    assert sorted(e["position"] for e in served) == list(range(1, 501))
    sample = gigs[::25]
    server.eventually(lambda: _served(server, sample))


def test_beacons_go_to_the_script_origin_as_simple_cross_origin_requests(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"cors{i}") for i in range(2)]
    # The page is on the test site's origin; the script (and so the collector) on the server's.
    page.goto(site.add("p", '<section data-gm-list="search">' + tiles(gigs) + "</section>",
                       endpoint=False))
    page.evaluate("gigmetrics.flush()")
    beacons.wait_event("served", count=2)

    [beacon] = beacons.sent
    assert beacon.url == f"{server.url}/collect"
    assert not beacon.url.startswith(site.relay.origin)
    # text/plain is CORS-safelisted: no preflight, and the server's answer needs no reading.
    assert beacon.content_type.split(";")[0] == "text/plain"
    assert beacons.relayed() == []
    server.eventually(lambda: _served(server, gigs))


def _served(server: Server, gigs: list[str]) -> dict[str, dict[str, object]]:
    metrics = server.metrics(*gigs)
    for m in metrics.values():
        check(m, served=1)  # type: ignore[arg-type]
    return metrics
