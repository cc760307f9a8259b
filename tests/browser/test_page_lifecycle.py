"""A page counts nothing until it is first seen: not while prerendering, not in a background
tab. And the snippet watches with observers only: no scroll listeners, no polling.

Headless Chromium keeps every tab visible and refuses to prerender while DevTools is attached
("PrerenderingDisabledByDevTools"), so both states are emulated the way the browser exposes
them: `document.visibilityState`, `document.prerendering` and their change events."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from .conftest import (
    Beacons,
    Server,
    Site,
    activate_prerender,
    check,
    emulate_visibility,
    set_visibility,
    tiles,
    wait_in_page,
)

pytestmark = pytest.mark.browser


def gig_page_with_listing(site: Site, page_gig: str, tile: str) -> str:
    return site.add("p", f'<main data-gm-page-gig="{page_gig}"></main>'
                    '<section data-gm-list="category" data-gm-context="c">' + tiles([tile])
                    + "</section>")


def test_a_background_tab_counts_nothing_until_first_visible(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    page_gig, tile = site.gig("bg-page"), site.gig("bg-tile")
    emulate_visibility(page, "hidden")
    page.goto(gig_page_with_listing(site, page_gig, tile))
    page.wait_for_timeout(1300)
    beacons.flush()
    beacons.settle()
    assert beacons.events() == []
    assert page.evaluate("gigmetrics.skipped") == {"hidden": 1}
    check(server.gig(page_gig), views=0)

    set_visibility(page, "visible")
    beacons.flush()
    beacons.wait_event("view", page_gig)
    beacons.wait_event("served", tile)
    server.eventually(lambda: check(server.gig(page_gig), views=1))
    check(server.gig(tile), served=1)


def test_a_prerendered_page_counts_nothing_until_activated(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    page_gig, tile = site.gig("pre-page"), site.gig("pre-tile")
    # Chromium reports a prerendering page as hidden; this one says "visible" as well, so only
    # document.prerendering holds the snippet back.
    emulate_visibility(page, "visible", prerendering=True)
    page.goto(gig_page_with_listing(site, page_gig, tile))
    page.wait_for_timeout(1300)
    beacons.flush()
    beacons.settle()
    assert beacons.events() == []
    check(server.gig(page_gig), views=0)

    activate_prerender(page)
    wait_in_page(page, "await sleep(1300);")
    beacons.flush()
    beacons.wait_event("viewable", tile)
    assert len(beacons.events("view", page_gig)) == 1
    assert len(beacons.events("served", tile)) == 1
    server.eventually(lambda: check(server.gig(page_gig), views=1))
    check(server.gig(tile), served=1, viewable=1)


def test_a_snippet_that_runs_before_the_page_is_parsed_still_finds_everything(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    page_gig = site.gig("early-page")
    gigs = [site.gig(f"early{i}") for i in range(3)]
    # A plain <script> in <head>: it runs before <body> exists.
    page.goto(site.add("p", f'<main data-gm-page-gig="{page_gig}"></main>'
                       '<section data-gm-list="search">' + tiles(gigs) + "</section>",
                       script=""))
    beacons.flush()
    beacons.wait_event("view", page_gig)
    served = beacons.wait_event("served", count=3)
    assert [e["position"] for e in served] == [1, 2, 3]
    server.eventually(lambda: check(server.gig(page_gig), views=1))
    check(server.gig(gigs[2]), served=1)


def test_a_gig_page_rendered_client_side_is_a_view(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    first, second = site.gig("spa-first"), site.gig("spa-second")
    page.goto(site.add("p", f'<div id="app"><main data-gm-page-gig="{first}"></main></div>'))
    # A single-page app swaps in another gig's page.
    page.evaluate(f"""() => document.getElementById('app').innerHTML =
        '<main data-gm-page-gig="{second}"></main>'""")
    beacons.flush()
    beacons.wait_event("view", second)
    [first_view] = beacons.events("view", first)
    [second_view] = beacons.events("view", second)
    assert first_view["pv"] != second_view["pv"]  # each gig page shown is its own page view
    server.eventually(lambda: check(server.gig(second), views=1))
    check(server.gig(first), views=1)


def test_viewability_needs_no_scroll_listeners_and_no_polling(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"quiet{i}") for i in range(30)]
    page.add_init_script("""
        window.__listened = []; window.__intervals = 0; window.__frames = 0;
        const add = EventTarget.prototype.addEventListener;
        EventTarget.prototype.addEventListener = function (type, ...rest) {
          window.__listened.push(type); return add.call(this, type, ...rest); };
        const interval = window.setInterval;
        window.setInterval = (...a) => { window.__intervals++; return interval(...a); };
        const raf = window.requestAnimationFrame;
        window.requestAnimationFrame = (f) => { window.__frames++; return raf(f); };""")
    page.goto(site.add("p", '<section data-gm-list="search">' + tiles(gigs) + "</section>",
                       style=".tile { height: 300px; }"))
    wait_in_page(page, "for (let y = 0; y < 3000; y += 300) { scrollTo(0, y); await sleep(50); }"
                       "scrollTo(0, 0); await sleep(1300);")
    beacons.flush()
    beacons.wait_event("viewable", gigs[0])

    listened = set(page.evaluate("window.__listened"))
    assert not listened & {"scroll", "resize", "wheel", "touchmove", "mousemove"}
    assert page.evaluate("[window.__intervals, window.__frames]") == [0, 0]
    server.eventually(lambda: check(server.gig(gigs[0]), served=1, viewable=1))
    check(server.gig(gigs[-1]), served=1, viewable=0)
