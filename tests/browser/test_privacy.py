"""What must not be sent or counted: opted-out browsers, Global Privacy Control when the site
asks for it, and automated browsers (sent, kept, never counted)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

from .conftest import (
    BASE_ARGS,
    Beacons,
    Server,
    Site,
    SiteServer,
    check,
    launch,
    new_context,
    tiles,
    watch,
)

pytestmark = pytest.mark.browser


def listing_and_gig_page(site: Site, tile: str, page_gig: str, script: str = "") -> str:
    return site.add("p", '<section data-gm-list="search" data-gm-context="q">' + tiles([tile])
                    + f'</section><main data-gm-page-gig="{page_gig}"></main>', script=script)


def nothing_sent(page: Page, beacons: Beacons, server: Server, *gigs: str) -> dict[str, int]:
    """Flush every way there is, then check that no beacon left and nothing was counted."""
    page.wait_for_timeout(1300)  # long enough for the tile to be viewable
    beacons.flush()
    page.click("[data-gm-gig]")
    skipped: dict[str, int] = page.evaluate("gigmetrics.skipped")
    page.goto(f"{server.url}/healthz")  # pagehide
    beacons.settle(600)
    assert beacons.sent == [] and beacons.relayed() == []
    for metrics in server.metrics(*gigs).values():
        check(metrics, served=0, viewable=0, clicks=0, views=0)
    return skipped


def test_an_opted_out_browser_sends_nothing(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    tile, page_gig = site.gig("optout"), site.gig("optout-page")
    page.add_init_script("localStorage.gigmetrics_ignore = 'true'")
    page.goto(listing_and_gig_page(site, tile, page_gig))

    skipped = nothing_sent(page, beacons, server, tile, page_gig)
    assert skipped["opt-out"] >= 4  # served, view, viewable, click: each recorded with why


def test_global_privacy_control_is_respected_when_the_site_asks(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    tile, page_gig = site.gig("gpc"), site.gig("gpc-page")
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',"
                         " { get: () => true })")
    page.goto(listing_and_gig_page(site, tile, page_gig, script="defer data-respect-gpc"))

    skipped = nothing_sent(page, beacons, server, tile, page_gig)
    assert skipped["gpc"] >= 4


def test_global_privacy_control_alone_does_not_stop_counting(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    tile, page_gig = site.gig("gpc-off"), site.gig("gpc-off-page")
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',"
                         " { get: () => true })")
    page.goto(listing_and_gig_page(site, tile, page_gig))  # no data-respect-gpc
    beacons.flush()

    beacons.wait_event("served", tile)
    beacons.wait_event("view", page_gig)
    server.eventually(lambda: check(server.gig(tile), served=1))
    check(server.gig(page_gig), views=1)


@pytest.fixture
def automated_context(playwright_instance: Playwright) -> BrowserContext:
    # Without --disable-blink-features=AutomationControlled: navigator.webdriver is true.
    browser = launch(playwright_instance, BASE_ARGS)
    yield new_context(browser)  # type: ignore[misc]
    browser.close()


def test_automated_browsers_are_marked_kept_and_not_counted(
    automated_context: BrowserContext, site: Site, site_server: SiteServer, token: str,
    server: Server,
) -> None:
    page = automated_context.new_page()
    beacons = watch(automated_context, page, site_server, token)
    tile, page_gig = site.gig("robot"), site.gig("robot-page")
    page.goto(listing_and_gig_page(site, tile, page_gig))
    assert page.evaluate("navigator.webdriver") is True
    page.wait_for_timeout(1300)
    beacons.flush()
    page.click("[data-gm-gig]")
    beacons.wait_event("click", tile)
    beacons.wait_event("view", page_gig)

    payloads = [b.payload for b in beacons.sent]
    assert payloads and all(p["automated"] is True for p in payloads)
    assert {e["type"] for p in payloads for e in p["events"]} == {
        "served", "viewable", "click", "view"}
    # Stored: sending the same batches again finds every event already there.
    beacons.wait_answered()
    for beacon in beacons.sent:
        answer = httpx.post(f"{server.url}/collect", content=beacon.body, timeout=10,
                            headers={"content-type": "text/plain", "user-agent": "Mozilla/5.0"
                                     " (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["accepted"], body["duplicates"]) == (0, len(beacon.payload["events"]))
    # Not counted.
    for metrics in server.metrics(tile, page_gig).values():
        check(metrics, served=0, viewable=0, clicks=0, views=0)
