"""The demo's listing experiment and order page, as a visitor goes through them: a search
click on an A/B tile, the gig page's "Order" button, and the confirmation page's order naming
that click's impression, whose served event named the variant shown."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page

from .conftest import Beacons, Server, demo_gigs

pytestmark = pytest.mark.browser


def test_the_demo_order_page_reports_the_order_of_the_variant_clicked(
    page: Page, beacons: Beacons, server: Server
) -> None:
    path = f"/demo/search?q=minimalist+logo+{uuid.uuid4().hex[:8]}"
    assert "g-101" in demo_gigs(server, path)[:48]
    page.goto(server.url + path)
    tile = page.locator("[data-gm-gig='g-101']")
    variant = tile.get_attribute("data-gm-variant")
    assert variant in ("A", "B")
    tile.click()
    page.wait_for_url("**/demo/gig/g-101")
    page.click("#order")
    page.wait_for_url("**/demo/order/g-101?id=*")
    order_id = page.url.split("?id=")[1]
    beacons.flush()

    [order] = beacons.wait_event("order", "g-101")
    [click] = beacons.wait_event("click", "g-101")
    assert order["id"] == order_id and order["imp"] == click["imp"]
    assert (order["value"], order["currency"]) == (15, "USD")
    [shown] = [e for e in beacons.wait_event("served", "g-101") if e["imp"] == click["imp"]]
    assert shown["variant"] == variant

    # A reload of the confirmation reports the same order id: the server counts it once.
    page.reload()
    beacons.flush()

    def sent_twice() -> None:
        orders = [e for b in beacons.sent for e in b.payload["events"] if e["type"] == "order"]
        assert len(orders) == 2 and {e["id"] for e in orders} == {order_id}, orders

    beacons.wait_for(sent_twice)
