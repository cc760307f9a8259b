"""The dashboard in real Chromium: its numbers are the API's, a partner sees only its sellers,
the range and time-zone controls change what is asked, CSV downloads parse, axe finds no
serious problem, and GraphiQL works with nothing but this server.

Screenshots at 375 and 1440 px go to GIGMETRICS_TEST_OUTPUT (default: test-output/).
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request

from .conftest import ADMIN_KEY, DESKTOP_UA, REPO, VIEWPORT, Server, retry

pytestmark = pytest.mark.browser

OUTPUT = Path(os.environ.get("GIGMETRICS_TEST_OUTPUT", REPO / "test-output"))
AXE = REPO / "sdk_js" / "node_modules" / "axe-core" / "axe.min.js"
HOUR = 3_600_000
COUNTS = ("servedImpressions", "viewableImpressions", "clicks", "views")
RATES = ("ctr", "viewableCtr", "viewabilityRate")
METRICS = (*COUNTS, *RATES, "averagePosition")


def api(server: Server, query: str, variables: dict[str, Any] | None = None,
        key: str = ADMIN_KEY) -> dict[str, Any]:
    response = httpx.post(f"{server.url}/graphql", json={"query": query, "variables": variables},
                          headers={"Authorization": f"Bearer {key}"}, timeout=10)
    body = response.json()
    assert not body.get("errors"), body
    return body["data"]  # type: ignore[no-any-return]


def record(server: Server, events: list[dict[str, Any]]) -> None:
    query = ("mutation($e: [EventInput!]!) "
             "{ recordEvents(events: $e) { accepted rejected { reason } } }")
    for start in range(0, len(events), 100):
        result = api(server, query, {"e": events[start : start + 100]})["recordEvents"]
        assert result["rejected"] == [], result


def traffic(seller: str, gigs: list[str], token: str, now: int) -> list[dict[str, Any]]:
    """Known traffic: gig n gets 6 + 3n impressions over the last days, some seen, clicked."""
    events: list[dict[str, Any]] = []
    for n, gig in enumerate(gigs):
        for i in range(6 + 3 * n):
            imp = f"{token}-{n}-{i}"
            ts = now - (i % 5) * 20 * HOUR - HOUR
            surface, context = ("search", "logo design") if i % 3 else ("category", "logo-design")
            events.append({"id": f"s-{imp}", "type": "served", "gig": gig, "seller": seller,
                           "imp": imp, "surface": surface, "context": context,
                           "position": 1 + i % 7, "ts": ts})
            if i % 2 == 0:
                events.append({"id": f"w-{imp}", "type": "viewable", "gig": gig, "imp": imp,
                               "ts": ts + 1000})
            if i % 4 == 0:
                events.append({"id": f"c-{imp}", "type": "click", "gig": gig, "imp": imp,
                               "surface": surface, "ts": ts + 2000})
        events.append({"id": f"v-{token}-{n}", "type": "view", "gig": gig, "seller": seller,
                       "pv": f"pv-{token}-{n}", "ts": now - 2 * HOUR})
    return events


def shown(name: str, value: Any) -> str:
    """A value as the dashboard shows it (dashboard/logic.js `show`)."""
    if value is None:
        return "\N{EN DASH}"
    if name in RATES:
        return f"{value:.{1 if value >= 10 or value == 0 else 2}f} %"
    if name == "averagePosition":
        return f"{value:.1f}"
    return f"{value:,}"


@pytest.fixture(scope="module")
def sellers(server: Server) -> dict[str, list[str]]:
    token = os.urandom(4).hex()
    found = {f"dash-a-{token}": [f"dg-{token}-{n}" for n in range(3)],
             f"dash-b-{token}": [f"dg-{token}-b"]}
    now = int(time.time() * 1000)
    for seller, gigs in found.items():
        record(server, traffic(seller, gigs, seller, now))
    return found


class Asked:
    """The GraphQL requests a page sent: their variables."""

    def __init__(self, page: Page) -> None:
        self.variables: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        page.on("request", self.record)

    def record(self, request: Request) -> None:
        if request.url.endswith("/graphql") and request.method == "POST":
            body = json.loads(request.post_data or "{}")
            self.bodies.append(body)
            self.variables.append(body.get("variables") or {})

    def last_report(self) -> dict[str, Any]:
        return next(b for b in reversed(self.bodies) if "sellerMetrics" in b["query"]
                    or "gigMetrics" in b["query"])


def open_dashboard(context: BrowserContext, server: Server, hash_: str, key: str = ADMIN_KEY
                   ) -> tuple[Page, Asked]:
    page = context.new_page()
    page.add_init_script(f"sessionStorage.setItem('gigmetrics.apiKey', {json.dumps(key)})")
    asked = Asked(page)
    page.goto(f"{server.url}/dashboard{hash_}")
    page.wait_for_selector(".card .value")
    page.wait_for_selector("#chart-clicks .uplot")
    return page, asked


@pytest.fixture
def utc_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=VIEWPORT, timezone_id="UTC", accept_downloads=True)
    yield context
    context.close()


def card(page: Page, metric: str) -> str:
    return page.locator(f'.card[data-metric="{metric}"] .value').inner_text()


def download_csv(page: Page, name: str) -> list[dict[str, str]]:
    with page.expect_download() as info:
        page.click(f'button[data-csv="{name}"]')
    path = info.value.path()
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_dashboard_shows_the_apis_numbers_and_exports_them(
    utc_context: BrowserContext, server: Server, sellers: dict[str, list[str]]
) -> None:
    seller, gigs = next(iter(sellers.items()))
    started = time.monotonic()
    page, asked = open_dashboard(utc_context, server, f"#seller={seller}")
    first_load = time.monotonic() - started
    assert first_load < 5, f"the dashboard took {first_load:.2f} s to show its numbers"

    # What the page asked, asked again directly: the same numbers.
    body = asked.last_report()
    answer = api(server, body["query"], body["variables"])
    totals, top = answer["sellerMetrics"], answer["topGigs"]
    assert totals["servedImpressions"] == sum(6 + 3 * n for n in range(3))
    for metric in METRICS:
        assert card(page, metric) == shown(metric, totals[metric]), metric

    rows = page.locator("#gigs-table tbody tr")
    assert rows.count() == len(gigs)
    nodes = [e["node"] for e in top["edges"]]
    assert [n["gigId"] for n in nodes] == sorted(gigs, reverse=True)  # most served first
    for i, node in enumerate(nodes):
        cells = rows.nth(i).locator("th, td").all_inner_texts()
        assert cells[0] == node["gigId"]
        assert cells[1 : 1 + len(METRICS)] == [shown(m, node[m]) for m in METRICS]

    contexts = page.locator("#contexts-table tbody tr").all()
    assert [c.locator("th").inner_text() for c in contexts] == [
        c["context"] for c in totals["byContext"]]

    # Every CSV parses and holds the API's raw values.
    gig_rows = download_csv(page, "gigs")
    assert [r["gig"] for r in gig_rows] == [n["gigId"] for n in nodes]
    for row, node in zip(gig_rows, nodes, strict=True):
        for metric in METRICS:
            value = node[metric]
            assert (row[metric] == "" if value is None else float(row[metric]) == value), metric
    daily = download_csv(page, "daily")
    assert [d["date"] for d in daily] == [d["date"] for d in totals["daily"]]
    assert sum(int(d["servedImpressions"]) for d in daily) == totals["servedImpressions"]
    surfaces = download_csv(page, "surfaces")
    assert {s["surface"]: int(s["servedImpressions"]) for s in surfaces} == {
        s["surface"]: s["servedImpressions"] for s in totals["bySurface"]}
    context_rows = download_csv(page, "contexts")
    assert [(c["context"], int(c["clicks"])) for c in context_rows] == [
        (c["context"], c["clicks"]) for c in totals["byContext"]]

    # A gig's own view, from its row.
    page.click(f"#gigs-table a:text-is('{gigs[0]}')")
    page.wait_for_selector(f"h1:text-is('Gig {gigs[0]}')")
    gig = api(server, "query($g: ID!, $r: DateRangeInput, $tz: String) { gigMetrics(gigId: $g, "
              "range: $r, timeZone: $tz) { servedImpressions clicks } }",
              {"g": gigs[0], "r": body["variables"]["range"], "tz": "UTC"})["gigMetrics"]
    page.wait_for_function(
        "v => document.querySelector('.card[data-metric=servedImpressions] .value')"
        ".textContent === v", arg=shown("servedImpressions", gig["servedImpressions"]))

    # New traffic shows up by itself within seconds.
    now = int(time.time() * 1000)
    record(server, [{"id": f"late-{gigs[0]}", "type": "served", "gig": gigs[0], "seller": seller,
                     "imp": f"late-{gigs[0]}", "surface": "search", "ts": now - 1000}])
    page.wait_for_function(
        "v => document.querySelector('.card[data-metric=servedImpressions] .value')"
        ".textContent === v", arg=shown("servedImpressions", gig["servedImpressions"] + 1),
        timeout=12_000)


def test_a_gig_view_updates_live_over_a_subscription(
    utc_context: BrowserContext, server: Server, sellers: dict[str, list[str]]
) -> None:
    seller, gigs = list(sellers.items())[1]
    page = utc_context.new_page()
    page.add_init_script(f"sessionStorage.setItem('gigmetrics.apiKey', {json.dumps(ADMIN_KEY)})")
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    page.goto(f"{server.url}/dashboard#seller={seller}&gig={gigs[0]}")
    page.wait_for_selector(f"h1:text-is('Gig {gigs[0]}')")
    page.wait_for_selector("#status:has-text('live')", timeout=5_000)
    assert sockets == [server.url.replace("http://", "ws://") + "/graphql"]
    before = card(page, "servedImpressions")

    now = int(time.time() * 1000)
    record(server, [{"id": f"live-{gigs[0]}", "type": "served", "gig": gigs[0], "seller": seller,
                     "imp": f"live-{gigs[0]}", "surface": "search", "ts": now - 1000}])
    started = time.monotonic()
    # Well before the next poll (every 5 s) would have asked.
    page.wait_for_function(
        "v => document.querySelector('.card[data-metric=servedImpressions] .value')"
        ".textContent !== v", arg=before, timeout=2_500)
    assert time.monotonic() - started < 2.5
    page.close()


def test_a_partner_key_sees_only_its_sellers(
    browser: Browser, server: Server, sellers: dict[str, list[str]]
) -> None:
    theirs, mine = list(sellers)
    created = subprocess.run(
        [sys.executable, "-m", "server", "keys", "create", "--name", "Partner B", "--seller", mine],
        env={**os.environ, "GIGMETRICS_DATABASE_URL": server.database_url},
        cwd=REPO, capture_output=True, text=True, check=True, timeout=30)
    secret = json.loads(created.stdout)["secret"]
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/dashboard#seller={theirs}")
        page.fill("#key", secret)
        page.click("button[type=submit]")
        page.wait_for_selector(".card .value")
        assert page.locator("#seller option").all_inner_texts() == [mine]
        assert page.locator(".crumbs h1").inner_text() == f"Seller {mine}"
        assert page.evaluate("document.cookie") == ""
        assert page.evaluate("sessionStorage.getItem('gigmetrics.apiKey')") == secret
        # A wrong key is sent back to sign in, told what to do in words for a person.
        page.click("text=Sign out")
        page.fill("#key", "not-a-key")
        page.click("button[type=submit]")
        told = page.locator(".error").inner_text()
        assert "This server does not know that key" in told and "demo-admin-key" in told
        assert "gm_" not in told and "Authorization" not in told and "HTTP" not in told
    finally:
        context.close()


def test_range_and_time_zone_controls_change_what_is_asked(
    browser: Browser, server: Server, sellers: dict[str, list[str]]
) -> None:
    seller = next(iter(sellers))
    context = browser.new_context(viewport=VIEWPORT, timezone_id="America/New_York")
    try:
        page, asked = open_dashboard(context, server, f"#seller={seller}")
        today = datetime.now(ZoneInfo("America/New_York")).date()
        first = asked.last_report()["variables"]
        assert first["tz"] == "America/New_York"  # the browser's zone by default
        assert first["range"] == {"from": str(today - timedelta(days=29)), "to": str(today)}

        def asks(**expected: Any) -> None:
            def check() -> None:
                latest = asked.last_report()["variables"]
                assert {k: latest[k] for k in expected} == expected, latest

            retry(check, 5, lambda: page.wait_for_timeout(50))

        page.select_option("#range", "7")
        asks(range={"from": str(today - timedelta(days=6)), "to": str(today)})
        page.select_option("#tz", "Asia/Kathmandu")
        kathmandu = datetime.now(ZoneInfo("Asia/Kathmandu")).date()
        asks(tz="Asia/Kathmandu",
             range={"from": str(kathmandu - timedelta(days=6)), "to": str(kathmandu)})
        page.select_option("#range", "custom")
        page.fill("#from", "2026-01-05")
        page.fill("#to", "2026-01-03")
        page.locator("#to").dispatch_event("change")
        assert "swap them" in page.locator("#error").inner_text()
        page.fill("#to", str(kathmandu))
        page.locator("#to").dispatch_event("change")
        asks(range={"from": "2026-01-05", "to": str(kathmandu)})
        page.wait_for_function("v => document.querySelector('.period').textContent.startsWith(v)",
                               arg=f"2026-01-05 to {kathmandu}")
    finally:
        context.close()


def test_axe_finds_no_serious_problem_and_screenshots(
    browser: Browser, server: Server, sellers: dict[str, list[str]]
) -> None:
    if not AXE.exists():
        pytest.skip("sdk_js/node_modules/axe-core is missing: run `npm ci` in sdk_js")
    seller, gigs = next(iter(sellers.items()))
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (375, 812)):
        # bypass_csp: the page's CSP rightly refuses the injected axe script.
        context = browser.new_context(viewport={"width": width, "height": height},
                                      timezone_id="UTC", bypass_csp=True)
        try:
            for name, hash_ in (("seller", f"#seller={seller}"),
                                ("gig", f"#seller={seller}&gig={gigs[2]}")):
                page, _ = open_dashboard(context, server, hash_)
                # The gig view is made of the seller view's parts: one axe run per width.
                if name == ("seller" if width > 1000 else "gig"):
                    page.add_script_tag(path=str(AXE))
                    violations = page.evaluate(
                        "async () => (await axe.run(document)).violations.map("
                        "v => ({id: v.id, impact: v.impact, help: v.help}))")
                    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
                    assert bad == [], f"{name} at {width} px: {bad}"
                overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
                assert overflow <= 0, f"{name} at {width} px scrolls sideways by {overflow} px"
                page.screenshot(path=str(OUTPUT / f"dashboard-{name}-{width}.png"),
                                full_page=True)
                page.close()
        finally:
            context.close()


def test_graphiql_works_offline_with_the_header_ready(
    browser: Browser, server: Server
) -> None:
    context = browser.new_context(viewport=VIEWPORT)
    elsewhere: list[str] = []

    def only_this_server(route: Any) -> None:
        if route.request.url.startswith(server.url) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", only_this_server)
        page = context.new_page()
        page.goto(f"{server.url}/graphql")
        page.wait_for_selector(".graphiql-container .CodeMirror")
        assert "Authorization" in page.locator(".graphiql-editor-tool").inner_text()
        page.click(".graphiql-execute-button")
        page.wait_for_function("() => document.querySelector('.result-window')"
                               "?.textContent.includes('not known')")
        assert elsewhere == []
        page.screenshot(path=str(OUTPUT / "graphiql-1280.png"))
    finally:
        context.close()


def collect(server: Server, events: list[dict[str, Any]], user_agent: str,
            automated: bool = False) -> None:
    """Beacons as a browser sends them; invalid ones are answered "accepted" all the same."""
    response = httpx.post(f"{server.url}/collect", json={"automated": automated, "events": events},
                          headers={"user-agent": user_agent}, timeout=10)
    assert response.status_code == 200 and response.json()["accepted"] == len(events)


def served(gig: str, seller: str, name: str, now: int) -> dict[str, Any]:
    return {"id": f"s-{name}", "type": "served", "gig": gig, "seller": seller, "imp": name,
            "surface": "search", "ts": now - 60_000}


def test_the_invalid_traffic_panel_shows_the_apis_invalid_traffic(
    utc_context: BrowserContext, server: Server
) -> None:
    token = os.urandom(4).hex()
    seller, gigs = f"inv-{token}", [f"ig-{token}-0", f"ig-{token}-1"]
    now = int(time.time() * 1000)
    record(server, traffic(seller, gigs, token, now))
    headless = DESKTOP_UA.replace("Chrome/", "HeadlessChrome/")
    collect(server, [served(gigs[0], seller, f"c-{token}-{i}", now) for i in range(3)], headless)
    collect(server, [served(gigs[1], seller, f"c2-{token}", now)], headless)
    collect(server, [served(gigs[1], seller, f"a-{token}-{i}", now) for i in range(5)],
            DESKTOP_UA, automated=True)

    page, asked = open_dashboard(utc_context, server, f"#seller={seller}")
    body = asked.last_report()
    range_ = body["variables"]["range"]
    query = ("query($g: ID!, $r: DateRangeInput) { gigMetrics(gigId: $g, range: $r, "
             "timeZone: \"UTC\") { invalidTraffic { reason kind events } } }")
    per_gig = {g: api(server, query, {"g": g, "r": range_})["gigMetrics"]["invalidTraffic"]
               for g in gigs}
    assert {r["reason"] for rows in per_gig.values() for r in rows} == {
        "crawler", "declared_automation"}

    def shown_rows() -> list[tuple[str, str, int]]:
        items = page.locator("#invalid-list li")
        return [(items.nth(i).get_attribute("data-reason") or "",
                 items.nth(i).get_attribute("data-kind") or "",
                 int(items.nth(i).get_attribute("data-events") or -1))
                for i in range(items.count())]

    # The seller's panel: its gigs' invalidTraffic summed per reason, most first.
    summed: dict[tuple[str, str], int] = {}
    for rows in per_gig.values():
        for r in rows:
            summed[r["reason"], r["kind"]] = summed.get((r["reason"], r["kind"]), 0) + r["events"]
    assert shown_rows() == sorted(((r, k, n) for (r, k), n in summed.items()),
                                  key=lambda row: -row[2])
    assert shown_rows() == [("declared_automation", "GIVT", 5), ("crawler", "GIVT", 4)]
    panel = page.locator("#invalid").inner_text()
    assert "9 events of this seller's gigs were not counted" in " ".join(panel.split())
    assert "--disable-blink-features=AutomationControlled" in panel
    # Nothing of it is in the counted numbers.
    assert card(page, "servedImpressions") == shown(
        "servedImpressions", body and api(server, body["query"], body["variables"])
        ["sellerMetrics"]["servedImpressions"])

    # A gig's panel: exactly its own invalidTraffic.
    page.click(f"#gigs-table a:text-is('{gigs[0]}')")
    page.wait_for_selector(f"h1:text-is('Gig {gigs[0]}')")
    page.wait_for_function("() => document.querySelectorAll('#invalid-list li').length === 1")
    assert shown_rows() == [(r["reason"], r["kind"], r["events"]) for r in per_gig[gigs[0]]]
    page.close()


def chart_state(page: Page, chart: str) -> dict[str, str]:
    state: dict[str, str] = page.evaluate(
        "id => ({...document.getElementById(id).dataset})", f"chart-{chart}")
    return state


def day_seconds(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("UTC")).timestamp())


def test_charts_start_at_zero_keep_edge_bars_whole_and_mark_today(
    utc_context: BrowserContext, server: Server, sellers: dict[str, list[str]]
) -> None:
    seller = next(iter(sellers))
    page, asked = open_dashboard(utc_context, server, f"#seller={seller}&range=7")
    body = asked.last_report()
    daily = api(server, body["query"], body["variables"])["sellerMetrics"]["daily"]
    today = str(datetime.now(ZoneInfo("UTC")).date())
    for chart, key in (("impressions", "servedImpressions"), ("clicks", "clicks")):
        state = chart_state(page, chart)
        days = state["days"].split(",")
        assert days == [d["date"] for d in daily]
        # Zero baseline; the top holds the largest day.
        assert float(state["yMin"]) == 0
        assert float(state["yMax"]) >= max(d[key] for d in daily) > 0
        assert state["yTicks"].split(",")[0] == "0"
        # Each day is a whole slot: half a day of room before the first and after the last.
        assert day_seconds(days[0]) - float(state["xMin"]) == 43_200
        assert float(state["xMax"]) - day_seconds(days[-1]) == 43_200
        assert state["today"] == today
        assert state["xLabels"].split(",")[-1] == f"{datetime.now(ZoneInfo('UTC')):%b} " \
            f"{datetime.now(ZoneInfo('UTC')).day}"
    clicks = chart_state(page, "clicks")
    # CTR's ticks sit on the clicks axis' gridlines.
    assert clicks["y2TicksPx"] == clicks["yTicksPx"]
    assert float(clicks["y2Min"]) == 0
    assert float(clicks["y2Max"]) >= max((d["ctr"] or 0) for d in daily)
    assert "today is not over" in page.locator(".period").inner_text()
    assert "Today is not over" in page.locator("#range-note").inner_text()

    # Hovering shows a tooltip with the day's values, not a legend row.
    assert page.locator(".u-legend").count() == 0
    page.locator("#chart-clicks").scroll_into_view_if_needed()
    box = page.locator("#chart-clicks .u-over").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    tip = page.locator("#chart-clicks .chart-tip")
    tip.wait_for(state="visible")
    assert f"{today} (today so far)" in tip.inner_text()
    assert f"Clicks: {daily[-1]['clicks']}" in tip.inner_text()

    # Two days: two labels, not one day printed eight times; 400 days: month labels that fit.
    day = datetime.now(ZoneInfo("UTC")).date()
    for first, last, most in ((day - timedelta(days=3), day - timedelta(days=2), 2),
                              (day - timedelta(days=399), day, 12)):
        page.evaluate("h => { location.hash = h; }",
                      f"#seller={seller}&range=custom&from={first}&to={last}")
        page.wait_for_function("d => document.getElementById('chart-clicks').dataset.days"
                               ".startsWith(d)", arg=str(first))
        state = chart_state(page, "clicks")
        labels = state["xLabels"].split(",")
        assert 2 <= len(labels) <= most and len(set(labels)) == len(labels), labels
        assert float(state["yMin"]) == 0
        assert state["today"] == ("" if last < day else today)
    page.close()


def test_range_mistakes_are_said_plainly_and_survive_the_refresh(
    browser: Browser, server: Server, sellers: dict[str, list[str]]
) -> None:
    seller = next(iter(sellers))
    # Chromium reports this zone by its old name; the dashboard asks and shows today's.
    context = browser.new_context(viewport=VIEWPORT, timezone_id="Asia/Calcutta")
    try:
        page, asked = open_dashboard(context, server, f"#seller={seller}")
        assert asked.last_report()["variables"]["tz"] == "Asia/Kolkata"
        assert page.locator("#tz option:checked").inner_text() == "Asia/Kolkata (this browser)"
        assert page.locator("#tz option[value='Asia/Calcutta']").count() == 0
        assert "Asia/Kolkata" in page.locator(".period").inner_text()

        today = datetime.now(ZoneInfo("Asia/Kolkata")).date()
        page.select_option("#range", "custom")
        page.wait_for_selector("#from:visible")
        asks_before = len(asked.bodies)
        page.fill("#to", str(today + timedelta(days=3)))
        page.locator("#to").dispatch_event("change")
        error = page.locator("#error")
        assert f"has not happened yet: pick today ({today})" in error.inner_text()
        assert "Variable" not in error.inner_text()
        # Past the 5-second refresh, the mistake is still said.
        page.wait_for_timeout(6_000)
        assert len(asked.bodies) > asks_before  # the page did refresh meanwhile
        assert all(b["variables"].get("range", {}).get("to") != str(today + timedelta(days=3))
                   for b in asked.bodies)
        assert "has not happened yet" in error.inner_text()
        assert "The numbers below are still for" in error.inner_text()
        page.fill("#to", str(today))
        page.locator("#to").dispatch_event("change")
        page.wait_for_function("() => document.getElementById('error').hidden")
    finally:
        context.close()
