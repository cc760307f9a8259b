"""Listing experiments and orders, as the page sends them: `variant` on a tile's served event,
and one `order` per order element, naming the impression of this browser's last click on its
gig. (What the server counts of them is tested with the server.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from .conftest import Beacons, Site, tiles

pytestmark = pytest.mark.browser

ORDER_FIELDS = {"id", "type", "gig", "ts", "imp", "value", "currency"}


def order_page(site: Site, path: str, order_id: str, gig: str, **attrs: str) -> str:
    extra = "".join(f' data-gm-{k}="{v}"' for k, v in attrs.items())
    return site.add(path, f'<p>Thank you</p><div data-gm-order="{order_id}" '
                          f'data-gm-order-gig="{gig}"{extra}></div>')


def sent_orders(beacons: Beacons) -> list[dict[str, Any]]:
    """Every order event sent, repeats included (the server dedupes them by id)."""
    seen = {}  # one beacon can reach both Playwright's view and the relay: count each once
    for payload in [b.payload for b in beacons.sent] + [
            r.payload for r in beacons.relayed() if r.method == "POST"]:
        for event in payload["events"]:
            if event["type"] == "order":
                seen[(event["id"], event["ts"])] = event
    return list(seen.values())


def test_served_events_carry_the_tiles_variant(
    page: Page, site: Site, beacons: Beacons
) -> None:
    gigs = {site.gig(name): variant for name, variant in [
        ("a", "A"), ("b", "thumb-2.price:9_9"), ("long", "x" * 32), ("none", None),
        ("spaces", "bad variant"), ("too-long", "x" * 33), ("empty", ""), ("slash", "a/b"),
    ]}
    body = "".join(
        tiles([gig]) if variant is None else tiles([gig], data_gm_variant=variant)
        for gig, variant in gigs.items()
    )
    page.goto(site.add("list", f'<section data-gm-list="search">{body}</section>'))
    page.wait_for_timeout(1300)
    beacons.flush()
    served = {e["gig"]: e for e in beacons.wait_event("served", count=len(gigs))}

    valid = {"A", "thumb-2.price:9_9", "x" * 32}
    for gig, variant in gigs.items():
        assert served[gig].get("variant") == (variant if variant in valid else None), gig
    # Only the served event names it: the server keeps it with the impression.
    tile = site.gig("a")
    assert "variant" not in beacons.wait_event("viewable", tile)[0]
    page.click(f"[data-gm-gig='{tile}']")
    [click] = beacons.wait_event("click", tile)
    assert "variant" not in click


def test_an_order_names_the_impression_of_its_gigs_last_click(
    page: Page, site: Site, beacons: Beacons
) -> None:
    gig, other = site.gig("sold"), site.gig("other")
    order_id = f"ORD-{site.token}"
    site.add(f"gig-{gig}", f'<main data-gm-page-gig="{gig}">{gig}</main>')
    site.add(f"gig-{other}", f'<main data-gm-page-gig="{other}">{other}</main>')
    links = "".join(f'<a class="tile" href="gig-{g}" data-gm-gig="{g}">{g}</a>'
                    for g in (gig, other))
    search = site.add("search", f'<section data-gm-list="search" data-gm-context="q">{links}'
                                "</section>")
    seller = site.add("seller", f'<section data-gm-list="user_page">{links}</section>')

    # A search click, then a click on the seller's page: the order belongs to the last one,
    # even though the gig page load used up the search click's note.
    for listing in (search, seller):
        page.goto(listing)
        page.click(f"[data-gm-gig='{gig}']")
        page.wait_for_url(f"**/gig-{gig}")
    page.goto(search)
    page.click(f"[data-gm-gig='{other}']")  # another gig's click does not count
    page.wait_for_url(f"**/gig-{other}")
    page.goto(order_page(site, "thanks", order_id, gig, value="49.99", currency="USD"))
    beacons.flush()

    [order] = beacons.wait_event("order", gig)
    clicks = beacons.wait_event("click", gig, count=2)
    last = max(clicks, key=lambda c: c["ts"])
    assert last["surface"] == "user_page"
    assert set(order) == ORDER_FIELDS
    assert order["id"] == order_id
    assert order["imp"] == last["imp"]
    assert (order["value"], order["currency"]) == (49.99, "USD")
    assert len(sent_orders(beacons)) == 1


def test_an_order_without_a_click_names_no_impression(
    page: Page, site: Site, beacons: Beacons
) -> None:
    gig = site.gig("direct")
    page.goto(order_page(site, "thanks", f"ORD-{site.token}", gig))
    beacons.flush()
    [order] = beacons.wait_event("order", gig)
    assert set(order) == {"id", "type", "gig", "ts"}
    assert order["id"] == f"ORD-{site.token}"


def test_value_and_currency_come_together_or_not_at_all(
    page: Page, site: Site, beacons: Beacons
) -> None:
    cases = {
        "ok": {"value": "120", "currency": "EUR"},
        "novalue": {"currency": "USD"},
        "nocurrency": {"value": "12.50"},
        "lowercase": {"value": "12.50", "currency": "usd"},
        "negative": {"value": "-3", "currency": "USD"},
        "text": {"value": "twelve", "currency": "USD"},
        "empty": {"value": "", "currency": "USD"},
    }
    body = "".join(
        f'<div data-gm-order="ORD-{name}-{site.token}" data-gm-order-gig="{site.gig(name)}"'
        + "".join(f' data-gm-{k}="{v}"' for k, v in attrs.items()) + "></div>"
        for name, attrs in cases.items()
    )
    page.goto(site.add("thanks", body))
    beacons.flush()
    orders = {e["gig"]: e for e in beacons.wait_event("order", count=len(cases))}
    assert (orders[site.gig("ok")]["value"], orders[site.gig("ok")]["currency"]) == (120, "EUR")
    for name in cases.keys() - {"ok"}:
        order = orders[site.gig(name)]
        assert "value" not in order and "currency" not in order, (name, order)


def test_a_reloaded_order_page_sends_the_same_order_again(
    page: Page, site: Site, beacons: Beacons
) -> None:
    gig = site.gig("reload")
    order_id = f"ORD-{site.token}"
    page.goto(order_page(site, "thanks", order_id, gig))
    beacons.flush()
    beacons.wait_event("order", gig)
    page.evaluate("window.gigmetrics.scan()")  # a rescan finds nothing new
    page.reload()
    beacons.flush()

    def twice() -> None:
        assert len(sent_orders(beacons)) == 2

    beacons.wait_for(twice)
    assert {o["id"] for o in sent_orders(beacons)} == {order_id}  # the server counts it once


def test_an_order_added_by_a_script_is_sent(page: Page, site: Site, beacons: Beacons) -> None:
    gig = site.gig("spa")
    page.goto(site.add("app", "<div id=app></div>"))
    page.evaluate(f"""() => {{
        const el = document.createElement('div');
        el.dataset.gmOrder = 'ORD-{site.token}';
        el.dataset.gmOrderGig = '{gig}';
        document.getElementById('app').append(el);
    }}""")
    beacons.flush()
    [order] = beacons.wait_event("order", gig)
    assert order["id"] == f"ORD-{site.token}"
