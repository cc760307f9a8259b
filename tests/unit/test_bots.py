"""Crawler detection: right answers, and memory that stays bounded whatever agents arrive."""

from __future__ import annotations

import gc
import tracemalloc

from server.edge.bots import is_crawler

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def test_browsers_are_not_crawlers_and_bots_are() -> None:
    assert not is_crawler(BROWSER)
    assert is_crawler("Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert is_crawler("curl/8.5.0")
    assert is_crawler("   ")


def test_a_browser_agent_padded_to_a_megabyte_is_judged_by_its_start() -> None:
    assert not is_crawler(BROWSER + " " + "x" * 1_000_000)


def test_distinct_huge_agents_are_not_kept_whole() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(40):
            is_crawler(f"{BROWSER} {n:06d} " + "x" * 250_000)  # each freed after the call
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1_000_000  # the whole agents would be 10 MB
