"""Crawler detection: right answers, and memory that stays bounded whatever agents arrive."""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from crawlerdetect import CrawlerDetect
from hypothesis import given, settings
from hypothesis import strategies as st

from server.edge.bots import is_crawler

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"
# Pieces agents are made of: browser tokens, crawler words, words an exclusion removes.
FRAGMENTS = [
    "Mozilla/5.0", "(X11;", "Linux", "x86_64)", "AppleWebKit/537.36", "Chrome/131.0",
    "Safari/537.36", "Mobile", "Yandex", "YandexSearch/8", "bot", "Googlebot/2.1", "crawler",
    "spider", "(compatible;", "curl/8", "Headless", "Firefox/133.0", "Edg/131", "+http://x.y",
    "A" * 40, "Windows NT 10.0", "Android 14", "MSIE 9.0", "Trident/7.0", "okhttp", "Java/17",
]


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


# Agents seen in the wild, crawlers and browsers, including ones that only an exclusion or a
# lookaround pattern decides.
KNOWN_AGENTS = [
    BROWSER,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (Windows NT 10.0) YaBrowser/24.1 YandexSearch/8.10",
    "Yandex",
    "python-requests/2.32.3",
    "Wget/1.21.4",
    "facebookexternalhit/1.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
]


@pytest.mark.parametrize("agent", KNOWN_AGENTS)
def test_the_linear_engine_agrees_with_crawlerdetect(agent: str) -> None:
    assert is_crawler(agent) == CrawlerDetect().is_crawler(agent)


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join))
@settings(max_examples=300, deadline=None)
def test_the_linear_engine_agrees_with_crawlerdetect_on_any_mix(agent: str) -> None:
    assert is_crawler(agent) == (not agent.strip() or CrawlerDetect().is_crawler(agent))
