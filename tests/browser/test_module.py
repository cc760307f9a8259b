"""The npm package's module build (`init({endpoint})`) behaves like the script tag, and nothing
that lacks an endpoint posts anywhere: the module imported without `init()`, `sdk.js` loaded
as a module. The versioned `/sdk/VERSION/sdk.js` loads under its integrity hash."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import ConsoleMessage, Page

from server import __version__
from server.sdk import integrity

from .conftest import REPO, Beacons, Server, Site, tiles

pytestmark = pytest.mark.browser

MODULE = (REPO / "sdk_js" / "dist" / "gigmetrics.mjs").read_text()
SDK = (REPO / "sdk_js" / "dist" / "sdk.js").read_bytes()
STYLE = "<style>body { margin: 0 } .tile { display: block; width: 200px; height: 150px }</style>"
SERVED_FIELDS = {"id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts"}


def module_page(site: Site, path: str, body: str, setup: str) -> str:
    """A page that imports the module build (served by the test site) and runs `setup`."""
    site.add_file("gigmetrics.mjs", MODULE)
    return site.add_file(path, f"""<!doctype html><html><head><meta charset="utf-8">{STYLE}
<script type="module">import {{ init, flush, scan }} from "./gigmetrics.mjs";
window.module = {{ init, flush, scan }}; {setup}</script></head><body>{body}</body></html>""")


def warnings(page: Page) -> list[str]:
    found: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "warning":
            found.append(message.text)

    page.on("console", record)
    return found


def test_init_counts_like_the_script_tag(page: Page, site: Site, beacons: Beacons) -> None:
    tile = site.gig("tile")
    endpoint = json.dumps(site.relay.origin)  # a bare origin: /collect is added
    init = f"init({{ endpoint: {endpoint} }});"
    module_page(site, f"gig-{tile}", f'<main data-gm-page-gig="{tile}">{tile}</main>', init)
    page.goto(module_page(site, "search", '<section data-gm-list="search" data-gm-context="q">'
                          + tiles([tile]).replace('href="#', 'href="gig-') + "</section>", init))
    page.wait_for_timeout(1300)
    page.evaluate("window.module.flush()")

    [served] = beacons.wait_event("served", tile)
    assert set(served) == SERVED_FIELDS
    assert (served["surface"], served["context"], served["position"]) == ("search", "q", 1)
    beacons.wait_event("viewable", tile)
    page.click(f"[data-gm-gig='{tile}']")
    page.wait_for_url(f"**/gig-{tile}")
    page.wait_for_function("window.gigmetrics")
    page.evaluate("window.gigmetrics.flush()")
    [click] = beacons.wait_event("click", tile)
    assert click["imp"] == served["imp"]
    beacons.settle()
    assert beacons.events("view") == []  # the click's note explained the gig page load
    for beacon in beacons.sent:
        assert beacon.url == f"{site.relay.origin}/collect"
        assert beacon.content_type.split(";")[0] == "text/plain"


def test_init_starts_once(page: Page, site: Site, beacons: Beacons) -> None:
    tile = site.gig("once")
    endpoint = json.dumps(f"{site.relay.origin}/collect")
    page.goto(module_page(site, "p", '<section data-gm-list="category">' + tiles([tile])
                          + "</section>", f"init({{ endpoint: {endpoint} }}); "
                          f"init({{ endpoint: {endpoint} }}); window.module.scan();"))
    page.wait_for_function("window.gigmetrics")
    page.evaluate("window.module.flush()")
    beacons.wait_event("served", tile)
    beacons.settle()
    assert len(beacons.events("served", tile)) == 1


def test_the_module_without_init_warns_and_sends_nothing(
    page: Page, site: Site, beacons: Beacons
) -> None:
    said = warnings(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    start = len(site.relay.relayed)
    tile = site.gig("no-init")
    page.goto(module_page(site, "p", '<section data-gm-list="search">' + tiles([tile])
                          + "</section>", "window.module.flush();"))
    page.wait_for_function("window.module")
    page.wait_for_timeout(300)
    page.evaluate("window.module.scan(); window.module.flush()")
    page.goto(site.add_file("away", "<p>away</p>"))  # leaving the page sends nothing either
    beacons.settle(600)

    assert said == ["gigmetrics: call init({endpoint})"]
    assert errors == []
    assert beacons.sent == [] and site.relay.relayed[start:] == []
    assert page.evaluate("window.gigmetrics") is None


def test_init_without_an_endpoint_warns_and_sends_nothing(
    page: Page, site: Site, beacons: Beacons
) -> None:
    said = warnings(page)
    start = len(site.relay.relayed)
    page.goto(module_page(site, "p", '<section data-gm-list="search">'
                          + tiles([site.gig("t")]) + "</section>", "init({});"))
    page.wait_for_function("window.module")
    page.wait_for_timeout(300)
    page.evaluate("window.module.flush()")
    beacons.settle()
    assert said == ["gigmetrics: call init({endpoint})"]
    assert beacons.sent == [] and site.relay.relayed[start:] == []


def test_sdk_js_loaded_as_a_module_warns_and_sends_nothing(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    said = warnings(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    start = len(site.relay.relayed)
    page.goto(site.add_file("p", f"""<!doctype html><html><head>
<script type="module" src="{server.url}/sdk.js"></script></head><body>
<section data-gm-list="search">{tiles([site.gig("t")])}</section></body></html>"""))
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    beacons.settle()
    assert said == ["gigmetrics: call init({endpoint})"]
    assert errors == []
    assert beacons.sent == [] and site.relay.relayed[start:] == []


def test_the_versioned_url_loads_under_its_integrity_hash(
    page: Page, site: Site, beacons: Beacons, server: Server
) -> None:
    good, bad = site.gig("pinned"), site.gig("tampered")
    url = f"{server.url}/sdk/{__version__}/sdk.js"
    for gig, hash in ((good, integrity(SDK)), (bad, integrity(SDK + b"\n"))):
        page.goto(site.add_file(f"p-{gig}", f"""<!doctype html><html><head>
<script src="{url}" integrity="{hash}" crossorigin="anonymous"
  data-endpoint="{site.relay.origin}/collect" defer></script></head><body>
<section data-gm-list="search">{tiles([gig])}</section></body></html>"""))
        page.wait_for_load_state("load")
        page.evaluate("window.gigmetrics?.flush()")
    beacons.wait_event("served", good)
    beacons.settle()
    assert beacons.events("served", bad) == []  # a hash that does not match: not run at all
