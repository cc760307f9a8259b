"""Served impressions: one per tile per render, positions per listing, later tiles found from
mutations, and every render (reload, load more, back/forward restore) counted anew."""

from __future__ import annotations

import uuid
from typing import Any

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
    tiles,
    watch,
)

pytestmark = pytest.mark.browser


def test_each_tile_is_served_once_per_render(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"once{i}") for i in range(5)]
    page.goto(site.add("p", '<section id="l" data-gm-list="search" data-gm-context="once">'
                       + tiles(gigs) + "</section>"))
    # Rescans, and a tile moved within the page: still the same render.
    page.evaluate("""() => { gigmetrics.scan(); gigmetrics.scan();
        const l = document.getElementById('l'); l.append(l.firstElementChild);
        l.append(document.createElement('span')); }""")
    page.wait_for_timeout(100)
    page.evaluate("gigmetrics.scan()")
    beacons.flush()
    beacons.wait_event("served", count=5)
    beacons.settle()

    served = beacons.events("served")
    assert sorted(e["gig"] for e in served) == sorted(gigs)
    assert len({e["imp"] for e in served}) == 5
    assert len({e["pv"] for e in served}) == 1
    assert [e["position"] for e in served] == [1, 2, 3, 4, 5]
    for metrics in server.eventually(lambda: _all(server, gigs, served=1)).values():
        assert metrics["averagePosition"] is not None


def test_a_given_position_wins(page: Page, site: Site, beacons: Beacons, server: Server) -> None:
    first, second = site.gig("auto"), site.gig("given")
    page.goto(site.add("p", '<section data-gm-list="category" data-gm-context="c">'
                       + tiles([first]) + tiles([second], data_gm_position="7") + "</section>"))
    beacons.flush()
    served = {e["gig"]: e for e in beacons.wait_event("served", count=2)}
    assert (served[first]["position"], served[second]["position"]) == (1, 7)
    server.eventually(lambda: _position(server.gig(second), 7.0))
    assert server.gig(first)["averagePosition"] == 1.0


def test_a_tile_names_its_listing_and_only_the_attributes_it_has(
    page: Page, site: Site, beacons: Beacons
) -> None:
    listed, bare, loose = site.gig("listed"), site.gig("bare"), site.gig("loose")
    page.goto(site.add("p", f'<section data-gm-list="sidebar" data-gm-context="{"q" * 200}">'
                       + tiles([listed]) + f'<a href="#b" data-gm-gig="{bare}">b</a></section>'
                       + f'<a href="#l" data-gm-gig="{loose}">l</a>'))
    beacons.flush()
    served = {e["gig"]: e for e in beacons.wait_event("served", count=3)}

    # An unknown surface is sent as "other", a long context is cut to the server's 128.
    assert (served[listed]["surface"], served[listed]["context"]) == ("other", "q" * 128)
    assert served[listed]["seller"] == "s1"
    # Attributes a tile does not have are left out, not sent as null.
    assert "seller" not in served[bare] and "sig" not in served[bare]
    assert served[bare]["context"] == "q" * 128
    # A tile outside any listing: surface "other", no context, its own positions.
    assert served[loose]["surface"] == "other" and "context" not in served[loose]
    assert [served[g]["position"] for g in (listed, bare, loose)] == [1, 2, 1]


def test_a_reload_is_a_new_render(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    gigs = [site.gig(f"reload{i}") for i in range(3)]
    page.goto(site.add("p", '<section data-gm-list="search">' + tiles(gigs) + "</section>"))
    beacons.flush()
    beacons.wait_event("served", count=3)
    page.reload()
    beacons.flush()
    served = beacons.wait_event("served", count=6)

    assert sorted(e["gig"] for e in served) == sorted(gigs * 2)
    assert len({e["imp"] for e in served}) == 6
    assert len({e["pv"] for e in served}) == 2
    server.eventually(lambda: _all(server, gigs, served=2))


def test_added_tiles_are_found_without_rescanning_the_document(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    old = [site.gig(f"old{i}") for i in range(2)]
    added = [site.gig(f"new{i}") for i in range(2)]
    fresh_list = [site.gig(f"list{i}") for i in range(3)]
    # Record every querySelectorAll made on the whole document once the page has loaded.
    page.add_init_script("""
        window.__wholeScans = 0;
        const qsa = Element.prototype.querySelectorAll;
        Element.prototype.querySelectorAll = function (s) {
          if (window.__watching && this === document.documentElement) window.__wholeScans++;
          return qsa.call(this, s);
        };
        const dqsa = Document.prototype.querySelectorAll;
        Document.prototype.querySelectorAll = function (s) {
          if (window.__watching) window.__wholeScans++;
          return dqsa.call(this, s);
        };""")
    page.goto(site.add("p", '<section id="l" data-gm-list="search">' + tiles(old)
                       + "</section>"))
    page.evaluate(f"""() => {{ window.__watching = true;
        const l = document.getElementById('l');
        l.insertAdjacentHTML('beforeend', {tiles(added)!r});
        document.body.insertAdjacentHTML('beforeend',
          '<section data-gm-list="category" data-gm-context="fresh">' + {tiles(fresh_list)!r}
          + '</section>'); }}""")
    beacons.flush()
    served = {e["gig"]: e for e in beacons.wait_event("served", count=7)}

    assert page.evaluate("window.__wholeScans") == 0
    assert [served[g]["position"] for g in old + added] == [1, 2, 3, 4]
    assert [served[g]["position"] for g in fresh_list] == [1, 2, 3]
    assert {served[g]["surface"] for g in fresh_list} == {"category"}
    server.eventually(lambda: _position(server.gig(added[1]), 4.0))
    assert server.gig(fresh_list[2])["averagePosition"] == 3.0


def test_load_more_serves_only_the_new_tiles_at_positions_49_to_96(
    page: Page, beacons: Beacons, server: Server
) -> None:
    query = f"load more {uuid.uuid4().hex[:8]}"
    path = f"/demo/search?q={query.replace(' ', '+')}"
    listed = demo_gigs(server, path)
    first_page, second_page = listed[:48], listed[48:]
    assert len(second_page) == 48
    before = server.metrics(first_page[0], *second_page[:3], second_page[-1])

    page.goto(server.url + path)
    beacons.flush()
    beacons.wait_event("served", count=48)
    page.click("#load-more")
    beacons.flush()
    served = beacons.wait_event("served", count=96)
    beacons.settle()

    served = beacons.events("served")
    assert len(served) == 96 and len({e["imp"] for e in served}) == 96
    assert [e["gig"] for e in served] == first_page + second_page
    assert [e["position"] for e in served] == list(range(1, 97))
    assert {(e["surface"], e["context"]) for e in served} == {("search", query)}

    def grown() -> None:
        after = server.metrics(*before)
        check(after[first_page[0]], served=before[first_page[0]]["servedImpressions"] + 1)
        for n, gig in [(49, second_page[0]), (50, second_page[1]), (51, second_page[2]),
                       (96, second_page[-1])]:
            check(after[gig], served=before[gig]["servedImpressions"] + 1)
            assert _position_sum(after[gig]) - _position_sum(before[gig]) == pytest.approx(n)

    server.eventually(grown)


def test_a_back_forward_restore_is_a_new_render(
    bfcache_context: BrowserContext, site_server: SiteServer, token: str, server: Server
) -> None:
    page = bfcache_context.new_page()
    beacons = watch(bfcache_context, page, site_server, token)
    page.add_init_script(RECORD_RESTORES)
    query = f"bfcache {uuid.uuid4().hex[:8]}"
    path = f"/demo/search?q={query.replace(' ', '+')}"
    gig = demo_gigs(server, path)[0]
    before = server.gig(gig)
    page.goto(server.url + path)
    beacons.flush()
    beacons.wait_event("served", count=48)

    page.goto(f"{server.url}/healthz")  # a page without tiles
    page.go_back(wait_until="commit")
    page.wait_for_function("window.gigmetrics")
    assert page.evaluate("window.__restored === true"), "not restored from the bfcache"
    beacons.flush()

    def rendered_twice() -> list[dict[str, Any]]:
        served = [e for e in beacons.events("served") if e.get("context") == query]
        assert len(served) == 96, len(served)
        return served

    served = beacons.wait_for(rendered_twice)
    assert len({e["imp"] for e in served}) == 96
    assert len({e["pv"] for e in served}) == 2
    assert [e["position"] for e in served] == list(range(1, 49)) * 2
    server.eventually(lambda: check(server.gig(gig), served=before["servedImpressions"] + 2))


def _all(server: Server, gigs: list[str], **expected: int) -> dict[str, dict[str, Any]]:
    metrics = server.metrics(*gigs)
    for m in metrics.values():
        check(m, **expected)
    return metrics


def _position(metrics: dict[str, Any], expected: float) -> None:
    assert metrics["averagePosition"] == expected, metrics


def _position_sum(metrics: dict[str, Any]) -> float:
    return (metrics["averagePosition"] or 0) * metrics["servedImpressions"]  # type: ignore[no-any-return]
