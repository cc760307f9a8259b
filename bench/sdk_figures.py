"""Figures for the snippet: its size against the 2 KB budget (and the npm package's module
build's, which has no budget of its own), and the main-thread time it takes to take on 1,000
tiles in Chromium.

    python bench/sdk_figures.py [--tiles 1000] [--runs 9]

Setup time is `performance.now()` around `gigmetrics.scan()` right after 1,000 fresh tiles are
appended (before the mutation observer's callback, so `scan()` does the work: ids, positions,
served events, observer registration). The baseline is the same page without the snippet
doing a plain `querySelectorAll` loop that reads each tile's attributes. Each run is a fresh
page; the median is printed. Pages are served by request routing, so no server is needed.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
from pathlib import Path

from playwright.sync_api import Page, Route, sync_playwright

SDK = Path(__file__).resolve().parents[1] / "sdk_js" / "dist" / "sdk.js"
MODULE = SDK.with_name("gigmetrics.mjs")
BUDGET = 2048
# Issue #10's targets (and stretch goals): gzipped bytes, and setup time over the baseline.
SIZE_TARGET, SIZE_STRETCH = 1900, 1500
SETUP_TARGET, SETUP_STRETCH = 3.0, 2.0
ORIGIN = "http://bench.gigmetrics.test"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-blink-features=AutomationControlled"]

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>.grid {{ display: grid; grid-template-columns: repeat(6, 180px); gap: 8px; }}
.tile {{ display: block; height: 120px; background: #9cf; }}</style>
{script}</head><body>
<section id="list" class="grid" data-gm-list="search" data-gm-context="logo design"></section>
<template id="tiles">{tiles}</template></body></html>"""

MEASURE_SNIPPET = """() => {
  const list = document.getElementById('list');
  list.append(document.getElementById('tiles').content.cloneNode(true));
  const t0 = performance.now();
  window.gigmetrics.scan();
  return performance.now() - t0;
}"""

MEASURE_BASELINE = """() => {
  const list = document.getElementById('list');
  list.append(document.getElementById('tiles').content.cloneNode(true));
  const t0 = performance.now();
  const seen = [];
  for (const el of document.querySelectorAll('[data-gm-gig]'))
    seen.push([el.dataset.gmGig, el.dataset.gmSeller, el.closest('[data-gm-list]')]);
  return performance.now() - t0;
}"""


def sizes(path: Path = SDK) -> tuple[int, int]:
    body = path.read_bytes()
    return len(body), len(gzip.compress(body, compresslevel=9))


def verdict(value: float, target: float, stretch: float) -> str:
    """Where a figure stands against a target and its stretch goal (lower is better)."""
    return "stretch met" if value <= stretch else "met" if value <= target else "missed"


def serve(route: Route) -> None:
    url = route.request.url
    if url.endswith("/sdk.js"):
        route.fulfill(body=SDK.read_bytes(), content_type="text/javascript")
    elif url.endswith("/collect"):
        route.fulfill(status=204)
    else:
        route.fulfill(body=serve.pages[url], content_type="text/html")  # type: ignore[attr-defined]


serve.pages = {}  # type: ignore[attr-defined]


def measure(page: Page, url: str, script: str) -> float:
    page.goto(url)
    page.wait_for_load_state()
    return float(page.evaluate(script))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    minified, gzipped = sizes()
    print(f"size: {gzipped:,} B minified+gzipped ({minified:,} B minified) | budget ≤ {BUDGET:,}: "
          f"{'within' if gzipped <= BUDGET else 'OVER'} | issue #10 ≤ {SIZE_TARGET:,} "
          f"(stretch {SIZE_STRETCH:,}): {verdict(gzipped, SIZE_TARGET, SIZE_STRETCH)}")
    minified, gzipped = sizes(MODULE)
    print(f"npm module build ({MODULE.name}, init()): {gzipped:,} B minified+gzipped "
          f"({minified:,} B minified)")

    tiles = "".join(f'<a class="tile" href="/gig/g-{n}" data-gm-gig="g-{n}" '
                    f'data-gm-seller="s{n % 40}">gig {n}</a>' for n in range(args.tiles))
    serve.pages[f"{ORIGIN}/with"] = PAGE.format(  # type: ignore[attr-defined]
        script='<script src="/sdk.js" defer></script>', tiles=tiles)
    serve.pages[f"{ORIGIN}/without"] = PAGE.format(script="", tiles=tiles)  # type: ignore[attr-defined]

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        context.route(f"{ORIGIN}/**", serve)
        with_snippet, baseline = [], []
        for _ in range(args.runs):
            for url, script, into in ((f"{ORIGIN}/with", MEASURE_SNIPPET, with_snippet),
                                      (f"{ORIGIN}/without", MEASURE_BASELINE, baseline)):
                page = context.new_page()
                into.append(measure(page, url, script))
                page.close()
        browser.close()

    snippet_ms, baseline_ms = statistics.median(with_snippet), statistics.median(baseline)
    ratio = snippet_ms / max(baseline_ms, 1e-3)
    print(f"setup of {args.tiles:,} tiles (Chromium, median of {args.runs} pages): scan() "
          f"{snippet_ms:.1f} ms vs querySelectorAll loop {baseline_ms:.1f} ms = {ratio:.1f}x | "
          f"issue #10 ≤ {SETUP_TARGET:g}x (stretch {SETUP_STRETCH:g}x): "
          f"{verdict(ratio, SETUP_TARGET, SETUP_STRETCH)}")


if __name__ == "__main__":
    main()
