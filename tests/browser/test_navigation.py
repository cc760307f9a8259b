"""Clicks and views: a click on a click surface leaves a note and its gig page sends no view;
every other load of a gig page is a view. Clicks never hold navigation up."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import BrowserContext, Page

from .conftest import (
    RECORD_RESTORES,
    Beacons,
    Server,
    Site,
    SiteServer,
    check,
    demo_gigs,
    surface,
    tiles,
    watch,
)

pytestmark = pytest.mark.browser


def test_a_search_click_is_a_click_and_not_a_view(
    page: Page, beacons: Beacons, server: Server
) -> None:
    query = f"click {uuid.uuid4().hex[:8]}"
    path = f"/demo/search?q={query.replace(' ', '+')}"
    gig = demo_gigs(server, path)[0]
    before = server.gig(gig)
    page.goto(server.url + path)
    page.click(f"[data-gm-gig='{gig}']")
    page.wait_for_url(f"**/demo/gig/{gig}")
    beacons.flush()
    beacons.wait_event("served", count=48 + 4)  # the gig page lists 4 more of the seller's gigs

    [click] = beacons.events("click", gig)
    assert (click["surface"], click["context"]) == ("search", query)
    assert beacons.events("view") == []

    def counted() -> None:
        after = server.gig(gig)
        check(after, clicks=before["clicks"] + 1, views=before["views"])
        assert surface(after, "SEARCH")["clicks"] == surface(before, "SEARCH")["clicks"] + 1

    server.eventually(counted)


def test_a_click_on_a_sellers_page_is_a_view(
    page: Page, beacons: Beacons, server: Server
) -> None:
    path = "/demo/seller/carol"
    gig = demo_gigs(server, path)[3]
    before = server.gig(gig)
    page.goto(server.url + path)
    page.click(f"[data-gm-gig='{gig}']")
    page.wait_for_url(f"**/demo/gig/{gig}")
    beacons.flush()

    [view] = beacons.wait_event("view", gig)
    [click] = beacons.events("click", gig)
    assert click["surface"] == "user_page"
    assert view["pv"] and "imp" not in view

    def counted() -> None:
        after = server.gig(gig)
        check(after, clicks=before["clicks"], views=before["views"] + 1)
        assert surface(after, "USER_PAGE")["clicks"] == surface(before, "USER_PAGE")["clicks"] + 1

    server.eventually(counted)


def test_a_direct_arrival_and_a_reload_are_views(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gig = site.gig("direct")
    url = site.add("gig", f'<main data-gm-page-gig="{gig}" data-gm-seller="s1">gig</main>')
    page.goto(url)
    beacons.flush()
    beacons.wait_event("view", gig)
    page.reload()
    beacons.flush()
    views = beacons.wait_event("view", gig, count=2)

    assert len({v["pv"] for v in views}) == 2
    assert {v["seller"] for v in views} == {"s1"}
    server.eventually(lambda: check(server.gig(gig), views=2, clicks=0, served=0))


def test_a_back_forward_restore_of_a_gig_page_is_a_view(
    bfcache_context: BrowserContext, site_server: SiteServer, token: str, server: Server
) -> None:
    page = bfcache_context.new_page()
    beacons = watch(bfcache_context, page, site_server, token)
    page.add_init_script(RECORD_RESTORES)
    gig = "g-219"
    before = server.gig(gig)
    page.goto(f"{server.url}/demo/gig/{gig}")
    beacons.flush()  # Playwright does not see beacons sent during pagehide
    beacons.wait_event("view", gig)
    page.goto(f"{server.url}/healthz")
    page.go_back(wait_until="commit")
    page.wait_for_function("window.gigmetrics")
    assert page.evaluate("window.__restored === true"), "not restored from the bfcache"
    beacons.flush()

    views = beacons.wait_event("view", gig, count=2)
    assert len({v["pv"] for v in views}) == 2
    server.eventually(lambda: check(server.gig(gig), views=before["views"] + 2))


def test_middle_and_ctrl_clicks_count_and_never_delay_navigation(
    page: Page, context: BrowserContext, site: Site, beacons: Beacons, server: Server
) -> None:
    ctrl, middle, plain = site.gig("ctrl"), site.gig("middle"), site.gig("plain")
    for gig in (ctrl, middle, plain):
        site.add(f"gig-{gig}", f'<main data-gm-page-gig="{gig}">{gig}</main>'
                 + tiles([site.gig(f"on-{gig}")]))
    links = "".join(
        f'<a class="tile" href="gig-{g}" data-gm-gig="{g}">{g}</a>' for g in (ctrl, middle, plain)
    )
    # A page handler that runs after the snippet's: did anyone cancel the navigation?
    page.goto(site.add("search", f'<section data-gm-list="search" data-gm-context="q">{links}'
                       "</section><script>addEventListener('click', e => "
                       "localStorage.prevented = e.defaultPrevented)</script>"))

    with context.expect_page() as opened:
        page.click(f"[data-gm-gig='{ctrl}']", modifiers=["ControlOrMeta"])
    ctrl_page = opened.value
    with context.expect_page() as opened:
        page.click(f"[data-gm-gig='{middle}']", button="middle")
    middle_page = opened.value
    for tab in (ctrl_page, middle_page):
        tab.wait_for_function("window.gigmetrics")
        beacons.flush(tab)
    with page.expect_request(f"**/gig-{plain}"):
        page.click(f"[data-gm-gig='{plain}']")
    page.wait_for_url(f"**/gig-{plain}")
    beacons.flush()

    # Each click was sent although its page navigated (or opened a tab) at once.
    for gig in (ctrl, middle, plain):
        beacons.wait_event("click", gig)
    assert page.evaluate("localStorage.prevented") == "false"
    beacons.wait_event("served", count=6)  # each gig page served its own tile: it flushed
    assert beacons.events("view") == []  # every gig page load was explained by its click

    def counted() -> None:
        for metrics in server.metrics(ctrl, middle, plain).values():
            check(metrics, served=1, viewable=1, clicks=1, views=0)

    server.eventually(counted)
