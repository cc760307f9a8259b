"""Real-browser tests of the snippet: Debian's Chromium driven by playwright against the real
server (a `python -m server serve` subprocess on a fresh SQLite file).

Every test looks at both ends: the `/collect` requests the page sent (and the ones it must not
send), and what `gigMetrics` then answers over GraphQL. Tests use their own gig ids, so they
never see each other's events; the few that use the demo catalogue compare before and after.

Headless Chromium keeps every tab "visible" and refuses to prerender while DevTools is
attached, so hidden tabs and prerendering are emulated (see `emulate_visibility`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, sync_playwright

REPO = Path(__file__).resolve().parents[2]
ADMIN_KEY = "test-admin"
CHROMIUM = os.environ.get("GIGMETRICS_CHROMIUM", "/usr/bin/chromium")
# HeadlessChrome is a crawler to the server (server/edge/bots.py): look like a desktop browser.
# Set with the launch switch, not the context's `user_agent`: Chromium drops beacons that a
# page sends while it unloads (pagehide) when DevTools overrides the user agent.
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
VIEWPORT = {"width": 1280, "height": 720}
BASE_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    f"--user-agent={DESKTOP_UA}",
]
# Without this flag navigator.webdriver is true and every event is marked automated.
HUMAN_ARGS = [*BASE_ARGS, "--disable-blink-features=AutomationControlled"]

METRICS_FIELDS = (
    "servedImpressions viewableImpressions clicks views averagePosition "
    "bySurface { surface servedImpressions viewableImpressions clicks views }"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def retry(check: Callable[[], Any], timeout: float, pause: Callable[[], None]) -> Any:
    """Call `check` until it stops raising AssertionError, pausing between tries; after
    `timeout` seconds its last failure is raised."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            pause()


@dataclass
class Server:
    """The running gigmetrics server."""

    url: str
    database_url: str = ""

    def metrics(self, *gigs: str) -> dict[str, dict[str, Any]]:
        """`gigMetrics` of each gig (20 aliases per query, the API's limit)."""
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(gigs), 20):
            chunk = gigs[start : start + 20]
            query = "{" + " ".join(
                f'm{i}: gigMetrics(gigId: {json.dumps(g)}) {{ {METRICS_FIELDS} }}'
                for i, g in enumerate(chunk)
            ) + "}"
            response = httpx.post(
                f"{self.url}/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=10,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert not body.get("errors"), body["errors"]
            for i, gig in enumerate(chunk):
                out[gig] = body["data"][f"m{i}"]
        return out

    def gig(self, gig: str) -> dict[str, Any]:
        """`gigMetrics` of one gig."""
        return self.metrics(gig)[gig]

    def eventually(self, check: Callable[[], Any], timeout: float = 6.0) -> Any:
        """Retry `check` until it stops failing (events are visible within a second)."""
        return retry(check, timeout, lambda: time.sleep(0.1))


_NAMES = {"served": "servedImpressions", "viewable": "viewableImpressions",
          "clicks": "clicks", "views": "views"}


def check(metrics: dict[str, Any], **expected: int) -> None:
    """Assert some counts of a `gigMetrics` answer: served=, viewable=, clicks=, views=."""
    got = {name: metrics[_NAMES[name]] for name in expected}
    assert got == expected, metrics


def demo_gigs(server: Server, path: str) -> list[str]:
    """The gig ids a demo page lists, in order (read before a browser loads it)."""
    html = httpx.get(f"{server.url}{path}", timeout=10).text
    return re.findall(r'data-gm-gig="([^"]+)"', html)


def surface(metrics: dict[str, Any], name: str) -> dict[str, Any]:
    """The `bySurface` entry for `name` (SEARCH, USER_PAGE, ...)."""
    return next(s for s in metrics["bySurface"] if s["surface"] == name)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("browser-server")
    port = _free_port()
    env = {
        **os.environ,
        "GIGMETRICS_DATABASE_URL": f"sqlite:///{tmp / 'b.db'}",
        "GIGMETRICS_ADMIN_KEY": ADMIN_KEY,
    }
    log = (tmp / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {(tmp / 'server.log').read_text()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer /healthz within 30 s")
            time.sleep(0.1)
        sdk = httpx.get(f"{url}/sdk.js", timeout=5)
        if sdk.status_code != 200:
            pytest.fail(f"/sdk.js answers {sdk.status_code}: {sdk.text[:200]}")
        yield Server(url, env["GIGMETRICS_DATABASE_URL"])
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@dataclass
class Relayed:
    """One request that reached the test site's `/collect` relay."""

    method: str
    content_type: str
    body: bytes
    status: int | None = None  # the server's answer, once the relay has forwarded it

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


class SiteServer:
    """The test site: an HTTP server on its own origin that serves each test's pages and
    relays `/collect` to the real server, recording every request on the way.

    Real pages on a real origin, not intercepted requests: new tabs load them too, the
    back/forward cache keeps them, and the relay sees beacons a page sends while it unloads,
    which Playwright does not report."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.pages: dict[str, str] = {}
        self.relayed: list[Relayed] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                html = site.pages.get(path)
                self.send_response(200 if html else 404)
                script = path.endswith((".js", ".mjs"))  # a module needs a JavaScript type
                self.send_header("content-type", "text/javascript" if script
                                 else "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((html or "no such test page").encode())

            def do_OPTIONS(self) -> None:
                site.relayed.append(Relayed("OPTIONS", "", b""))
                self.send_response(204)
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                content_type = self.headers.get("content-type", "")
                relayed = Relayed("POST", content_type, body)
                site.relayed.append(relayed)
                answer = httpx.post(f"{site.upstream}/collect", content=body, timeout=10, headers={
                    "content-type": content_type,
                    "user-agent": self.headers.get("user-agent", ""),
                })
                relayed.status = answer.status_code
                self.send_response(answer.status_code)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(answer.content)

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture(scope="package")
def site_server(server: Server) -> Iterator[SiteServer]:
    site = SiteServer(server.url)
    yield site
    site.close()


# Package scope: the sync API keeps an event loop running until it stops, and tests after
# these ones call asyncio.run().
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as pw:
        yield pw


def launch(pw: Playwright, args: list[str], **options: Any) -> Browser:
    """Debian's Chromium (never a downloaded one)."""
    return pw.chromium.launch(executable_path=CHROMIUM, args=args, **options)


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = launch(playwright_instance, HUMAN_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="package")
def bfcache_browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Playwright turns the back/forward cache off by default; this one keeps it."""
    browser = launch(playwright_instance, HUMAN_ARGS,
                     ignore_default_args=["--disable-back-forward-cache"])
    yield browser
    browser.close()


def new_context(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport=VIEWPORT)


@dataclass
class Beacon:
    """One `/collect` request as Playwright saw it."""

    url: str
    method: str
    resource_type: str
    content_type: str
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Beacons:
    """The `/collect` requests of one test: those Playwright reports for its pages (`sent`)
    and those the test site relayed for its gigs (beacons sent while a page unloads, and from
    tabs Playwright attaches to late, reach only the relay)."""

    page: Page
    relay: SiteServer
    token: str
    relay_start: int
    sent: list[Beacon] = field(default_factory=list)

    def record(self, request: Request) -> None:
        if request.url.split("?")[0].endswith("/collect"):
            self.sent.append(Beacon(
                request.url, request.method, request.resource_type,
                request.headers.get("content-type", ""), request.post_data_buffer or b"",
            ))

    def relayed(self) -> list[Relayed]:
        """Requests the relay got since this test began that carry one of its gigs."""
        return [r for r in self.relay.relayed[self.relay_start:]
                if r.method != "POST" or any(self.token in e.get("gig", "")
                                             for e in r.payload["events"])]

    def events(self, type: str | None = None, gig: str | None = None) -> list[dict[str, Any]]:
        """The events sent so far (deduplicated by id), optionally of one type / gig."""
        seen: dict[str, dict[str, Any]] = {}
        payloads = [b.payload for b in self.sent]
        payloads += [r.payload for r in self.relayed() if r.method == "POST"]
        for payload in payloads:
            for event in payload["events"]:
                seen.setdefault(event["id"], event)
        return [e for e in seen.values()
                if (type is None or e["type"] == type) and (gig is None or e["gig"] == gig)]

    def wait_for(self, check: Callable[[], Any], timeout: float = 6.0) -> Any:
        """Let the browser run until `check` stops failing."""
        return retry(check, timeout, lambda: self.page.wait_for_timeout(50))

    def wait_event(self, type: str, gig: str | None = None, count: int = 1) -> list[dict[str, Any]]:
        """Wait until at least `count` events of this type (and gig) were sent."""

        def enough() -> list[dict[str, Any]]:
            found = self.events(type, gig)
            assert len(found) >= count, f"{len(found)} {type} events for {gig}, want {count}"
            return found

        return self.wait_for(enough)  # type: ignore[no-any-return]

    def flush(self, page: Page | None = None) -> None:
        (page or self.page).evaluate("window.gigmetrics.flush()")

    def wait_answered(self) -> None:
        """Wait until the server has answered every beacon the relay got for this test (the
        relay records a beacon before it forwards it)."""

        def answered() -> None:
            pending = [r for r in self.relayed() if r.method == "POST" and r.status is None]
            assert not pending, f"{len(pending)} beacons not answered yet"

        self.wait_for(answered)

    def settle(self, ms: int = 400) -> None:
        """Give sent requests time to show up (for asserting what was *not* sent)."""
        self.page.wait_for_timeout(ms)


@dataclass
class Site:
    """This test's pages on the test site (`<site origin>/t/<token>/...`), carrying the
    snippet from the real server. Beacons go to the site's relay unless `endpoint=False`."""

    relay: SiteServer
    server: Server
    token: str

    def gig(self, name: str) -> str:
        """A gig id no other test uses."""
        return f"{name}-{self.token}"

    def url(self, path: str) -> str:
        return f"{self.relay.origin}/t/{self.token}/{path}"

    def add(self, path: str, body: str, *, head: str = "", script: str = "defer",
            style: str = "", endpoint: bool = True) -> str:
        """Serve a page carrying the snippet (in <head>, `defer` unless `script` says otherwise)
        at `path`; returns its URL."""
        if endpoint:
            script = f'data-endpoint="{self.relay.origin}/collect" {script}'
        self.relay.pages[f"/t/{self.token}/{path}"] = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{path}</title>
<style>body {{ margin: 0; font: 14px sans-serif; }}
.tile {{ display: block; width: 200px; height: 150px; background: #9cf; }}
{style}</style>
<script src="{self.server.url}/sdk.js" {script}></script>{head}</head>
<body>{body}</body></html>"""
        return self.url(path)


    def add_file(self, path: str, body: str) -> str:
        """Serve `body` as it is at `path` (a whole page, or a script if the path ends in .js or
        .mjs); returns its URL."""
        self.relay.pages[f"/t/{self.token}/{path}"] = body
        return self.url(path)


def tiles(gigs: list[str], **attrs: str) -> str:
    """Tile links for `gigs`, with extra attributes on each."""
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return "".join(
        f'<a class="tile" href="#{g}" data-gm-gig="{g}" data-gm-seller="s1"{extra}>{g}</a>'
        for g in gigs
    )


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(browser)
    yield context
    context.close()


@pytest.fixture
def bfcache_context(bfcache_browser: Browser) -> Iterator[BrowserContext]:
    context = new_context(bfcache_browser)
    yield context
    context.close()


# Records pageshow restores, so a test can tell a real bfcache restore from a reload.
RECORD_RESTORES = (
    "addEventListener('pageshow', e => { if (e.persisted) window.__restored = true; })"
)


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def watch(context: BrowserContext, page: Page, relay: SiteServer, token: str) -> Beacons:
    """Start recording the beacons of `context` (and of the relay, for this test's gigs)."""
    recorder = Beacons(page, relay, token, len(relay.relayed))
    context.on("request", recorder.record)
    return recorder


@pytest.fixture
def beacons(context: BrowserContext, page: Page, site_server: SiteServer, token: str) -> Beacons:
    return watch(context, page, site_server, token)


@pytest.fixture
def site(site_server: SiteServer, server: Server, token: str) -> Site:
    return Site(site_server, server, token)


# Emulates the Page Visibility API (and prerendering), which headless Chromium never changes
# on its own: `set_visibility(page, "hidden")` flips the state and fires the events a browser
# would.
EMULATE_VISIBILITY = """
(() => {
  window.__gmVisibility = %s;
  window.__gmPrerendering = %s;
  Object.defineProperty(Document.prototype, "visibilityState",
    { configurable: true, get: () => window.__gmVisibility });
  Object.defineProperty(Document.prototype, "hidden",
    { configurable: true, get: () => window.__gmVisibility != "visible" });
  Object.defineProperty(Document.prototype, "prerendering",
    { configurable: true, get: () => window.__gmPrerendering });
  window.__gmSetVisibility = (state) => {
    window.__gmVisibility = state;
    document.dispatchEvent(new Event("visibilitychange"));
  };
})();
"""


def emulate_visibility(page: Page, state: str = "visible", prerendering: bool = False) -> None:
    page.add_init_script(EMULATE_VISIBILITY % (json.dumps(state), json.dumps(prerendering)))


def set_visibility(page: Page, state: str) -> None:
    page.evaluate("state => window.__gmSetVisibility(state)", state)


def activate_prerender(page: Page) -> None:
    page.evaluate(
        """() => { window.__gmPrerendering = false; window.__gmVisibility = "visible";
                   document.dispatchEvent(new Event("prerenderingchange"));
                   document.dispatchEvent(new Event("visibilitychange")); }"""
    )


def wait_in_page(page: Page, script: str) -> Any:
    """Run an async snippet in the page with `sleep(ms)` available (timing stays in the
    browser, so the test process's own scheduling does not stretch it)."""
    return page.evaluate(
        "async () => { const sleep = ms => new Promise(r => setTimeout(r, ms)); " + script + " }"
    )
