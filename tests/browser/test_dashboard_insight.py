"""A gig's orders, listing experiments and devices in the dashboard, in real Chromium against
the real server: every figure is the API's, the verdict's words follow from the API's fields,
the baseline can be picked, the CSVs parse, and a seller's devices are its gigs' summed.

Needs the API of the third release (SPEC §7: `orders`, `conversionRate`, `revenue`,
`variants`, `byDevice`, and `orders` on the daily, surface and context rows): against a server
without them the dashboard's queries are refused and it shows that error instead.

Screenshots at 375 and 1440 px go to GIGMETRICS_TEST_OUTPUT (default: test-output/).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from .conftest import DESKTOP_UA, Server, retry
from .test_dashboard import OUTPUT, api, card, collect, download_csv, open_dashboard

pytestmark = pytest.mark.browser

MOBILE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
             "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1")
MIN_SERVED = 100  # dashboard/logic.js MIN_SERVED
DEVICE_LABELS = {"DESKTOP": "Desktop", "MOBILE": "Mobile", "TABLET": "Tablet", "OTHER": "Other"}
COUNTS = ("servedImpressions", "viewableImpressions", "clicks")
VARIANT_FIELDS = (*COUNTS, "ctr", "viewableCtr", "orders")
DEVICE_FIELDS = (*COUNTS, "ctr", "viewableCtr", "viewabilityRate")
RATES = ("ctr", "viewableCtr", "viewabilityRate", "conversionRate")


def shown(name: str, value: Any) -> str:
    """A value as the dashboard shows it (dashboard/logic.js `show`)."""
    if value is None:
        return "\N{EN DASH}"
    if name in RATES:
        # Exact halves round up, as JavaScript's toFixed does (56.25 -> 56.3; Python: 56.2).
        places = Decimal(1).scaleb(-(1 if value >= 10 or value == 0 else 2))
        return f"{Decimal(value).quantize(places, rounding=ROUND_HALF_UP)} %"
    return f"{value:,}"


def change_text(value: float | None) -> str:
    """A CTR change as the dashboard shows it (dashboard/logic.js `ctrChangeText`)."""
    if value is None:
        return "\N{EN DASH}"
    rounded = round(value, 1)
    if rounded == 0:
        return "\N{PLUS-MINUS SIGN}0"
    digits = f"{abs(rounded):,.1f}".removesuffix(".0")
    return f"{'+' if rounded > 0 else chr(0x2212)}{digits} %"


SAME_WITHIN = 20  # %, as dashboard/logic.js


def verdict(row: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """The verdict's words from the API's fields (dashboard/logic.js `verdict`)."""
    if row["isBaseline"]:
        return "baseline"
    if row["significant"] and (row["ctrChange"] or 0) > 0:
        return f"{row['variant']} gets more clicks — this is not chance"
    if row["significant"] and (row["ctrChange"] or 0) < 0:
        return f"{row['variant']} gets fewer clicks — this is not chance"
    if any(arm is None or arm["servedImpressions"] < MIN_SERVED or arm["clicks"] == 0
           for arm in (row, baseline)):
        return "too early to tell"
    if row["ctrChange"] is None or abs(row["ctrChange"]) > SAME_WITHIN:
        return "too early to tell"  # not significant, but too large a change to call none
    return "no difference so far"


def experiment(server: Server, gig: str, seller: str, token: str, now: int) -> None:
    """120 impressions per variant, half on phones, B clicked 72 times and A 6; three orders
    (one reported twice) in two currencies, one of them without an impression."""
    by_device: dict[str, list[dict[str, Any]]] = {MOBILE_UA: [], DESKTOP_UA: []}
    clicked = []
    for i in range(240):
        imp, variant = f"x{token}{i}", "AB"[i % 2]
        ts = now - 3_600_000 + i * 1000
        events = by_device[MOBILE_UA if i % 4 < 2 else DESKTOP_UA]
        events.append({"id": f"s-{imp}", "type": "served", "gig": gig, "seller": seller,
                       "imp": imp, "surface": "search", "context": "logo design",
                       "variant": variant, "ts": ts})
        if i % 3 == 0:
            events.append({"id": f"w-{imp}", "type": "viewable", "gig": gig, "imp": imp,
                           "ts": ts + 500})
        if (variant == "B" and i % 5 < 3) or (variant == "A" and i % 40 == 0):
            events.append({"id": f"c-{imp}", "type": "click", "gig": gig, "imp": imp,
                           "surface": "search", "ts": ts + 900})
            clicked.append((imp, ts + 900))
    for user_agent, events in by_device.items():
        for start in range(0, len(events), 100):
            collect(server, events[start : start + 100], user_agent)
    (first, at), (second, later) = clicked[0], clicked[1]
    orders = [
        {"id": f"o1-{token}", "type": "order", "gig": gig, "imp": first, "ts": at + 5000,
         "value": 40, "currency": "USD"},
        {"id": f"o2-{token}", "type": "order", "gig": gig, "imp": second, "ts": later + 5000,
         "value": 25.5, "currency": "EUR"},
        {"id": f"o3-{token}", "type": "order", "gig": gig, "ts": now - 60_000,
         "value": 10, "currency": "USD"},
    ]
    collect(server, orders, DESKTOP_UA)
    # The same order again (a reload of its confirmation page): still one order.
    again = httpx.post(f"{server.url}/collect", json={"events": orders[:1]},
                       headers={"user-agent": DESKTOP_UA}, timeout=10)
    assert again.status_code == 200 and not again.json()["rejected"], again.text


@pytest.fixture(scope="module")
def insight(server: Server) -> tuple[str, list[str]]:
    token = os.urandom(4).hex()
    seller, gigs = f"ins-{token}", [f"xg-{token}", f"xg-{token}-plain"]
    now = int(time.time() * 1000)
    experiment(server, gigs[0], seller, token, now)
    plain = [{"id": f"s-p{token}{i}", "type": "served", "gig": gigs[1], "seller": seller,
              "imp": f"p{token}{i}", "surface": "category", "context": "logo-design",
              "ts": now - 120_000} for i in range(7)]
    collect(server, plain, MOBILE_UA)
    return seller, gigs


@pytest.fixture
def utc_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, timezone_id="UTC",
                                  accept_downloads=True)
    yield context
    context.close()


def cells(page: Page, table: str) -> list[list[str]]:
    rows = page.locator(f"#{table} tbody tr")
    return [rows.nth(i).locator("th, td").all_inner_texts() for i in range(rows.count())]


def test_a_gigs_orders_experiments_and_devices_are_the_apis(
    utc_context: BrowserContext, server: Server, insight: tuple[str, list[str]]
) -> None:
    seller, gigs = insight
    page, asked = open_dashboard(utc_context, server, f"#seller={seller}&gig={gigs[0]}")
    page.wait_for_selector("#variants-table")
    assert not page.locator("#error").is_visible()
    body = asked.last_report()
    gig = api(server, body["query"], body["variables"])["gigMetrics"]

    # Orders: an order reported twice counts once; revenue per currency, never converted.
    assert gig["orders"] == 3
    assert {r["currency"]: r["amount"] for r in gig["revenue"]} == {"USD": 50, "EUR": 25.5}
    assert card(page, "orders") == shown("orders", gig["orders"])
    assert card(page, "conversionRate") == shown("conversionRate", gig["conversionRate"])
    money = page.locator('.card[data-metric="revenue"] .value').all_inner_texts()
    assert money == [{"USD": "$", "EUR": "€"}[r["currency"]] + f"{r['amount']:,.2f}"
                     for r in gig["revenue"]]

    # Experiments: every row the API's, its verdict in words from the API's fields.
    variants = gig["variants"]
    assert [(v["variant"], v["servedImpressions"]) for v in variants] in (
        [("A", 120), ("B", 120)], [("B", 120), ("A", 120)])
    baseline = next(v for v in variants if v["isBaseline"])
    rows = cells(page, "variants-table")
    assert len(rows) == len(variants)
    for row, v in zip(rows, variants, strict=True):
        assert row[0].split()[0] == v["variant"]
        assert ("baseline" in row[0]) == v["isBaseline"]
        assert row[1:7] == [shown(f, v[f]) for f in VARIANT_FIELDS]
        assert row[7] == ("baseline" if v["isBaseline"] else change_text(v["ctrChange"]))
        assert row[8] == verdict(v, baseline)
    listed = page.locator(".verdicts li").all_inner_texts()
    assert listed == [f"{v['variant']} vs {baseline['variant']}: {verdict(v, baseline)}"
                      for v in variants if not v["isBaseline"]]
    exported = download_csv(page, "experiments")
    assert [(r["variant"], int(r["clicks"]), r["verdict"]) for r in exported] == [
        (v["variant"], v["clicks"], verdict(v, baseline)) for v in variants]

    # Devices: the API's rows, phones and desktops half each.
    devices = gig["byDevice"]
    assert {d["device"]: d["servedImpressions"] for d in devices if d["servedImpressions"]} == {
        "MOBILE": 120, "DESKTOP": 120}  # every device is listed, zero-filled
    assert cells(page, "devices-table") == [
        [DEVICE_LABELS[d["device"]], *(shown(f, d[f]) for f in DEVICE_FIELDS)] for d in devices]

    # Orders per day: in the daily CSV and the clicks chart's tooltip.
    daily = download_csv(page, "daily")
    assert sum(int(d["orders"]) for d in daily) == gig["orders"]
    box = page.locator("#chart-clicks .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    day = page.locator("#chart-clicks .chart-tip strong").inner_text().split()[0]
    orders_that_day = next(d["orders"] for d in gig["daily"] if d["date"] == day)
    tip = page.locator("#chart-clicks .chart-tip [data-tip=orders]")
    assert tip.inner_text() == f"Orders: {orders_that_day}"

    # Another baseline is asked for, and marked.
    other = next(v["variant"] for v in variants if not v["isBaseline"])
    page.select_option("#baseline", other)

    def asked_again() -> None:
        assert asked.last_report()["variables"]["baseline"] == other
        first_cells = page.locator("#variants-table tbody th").all_inner_texts()
        assert [c.split()[0] for c in first_cells if "baseline" in c] == [other]

    retry(asked_again, 5, lambda: page.wait_for_timeout(50))
    assert f"baseline={other}" in page.url


def test_a_sellers_devices_are_its_gigs_summed(
    utc_context: BrowserContext, server: Server, insight: tuple[str, list[str]]
) -> None:
    seller, gigs = insight
    page, asked = open_dashboard(utc_context, server, f"#seller={seller}")
    page.wait_for_selector("#devices-table")
    range_ = asked.last_report()["variables"]["range"]
    query = ("query($g: ID!, $r: DateRangeInput) { gigMetrics(gigId: $g, range: $r, "
             "timeZone: \"UTC\") { byDevice { device servedImpressions viewableImpressions "
             "clicks } } }")
    summed: dict[str, list[int]] = {}
    for gig in gigs:
        for d in api(server, query, {"g": gig, "r": range_})["gigMetrics"]["byDevice"]:
            counts = summed.setdefault(d["device"], [0, 0, 0])
            for i, field in enumerate(COUNTS):
                counts[i] += d[field]
    assert summed["MOBILE"][0] == 127
    expected = sorted(summed.items(), key=lambda item: -item[1][0])
    assert [row[:4] for row in cells(page, "devices-table")] == [
        [DEVICE_LABELS[device], *(f"{n:,}" for n in counts)] for device, counts in expected]


def test_insight_screenshots_fit_both_widths(
    browser: Browser, server: Server, insight: tuple[str, list[str]]
) -> None:
    seller, gigs = insight
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (375, 812)):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      timezone_id="UTC")
        try:
            page, _ = open_dashboard(context, server, f"#seller={seller}&gig={gigs[0]}")
            page.wait_for_selector("#variants-table")
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"the gig view at {width} px scrolls sideways by {overflow} px"
            page.screenshot(path=str(OUTPUT / f"dashboard-insight-{width}.png"), full_page=True)
        finally:
            context.close()
