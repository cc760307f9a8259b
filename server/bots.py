"""Is a user agent a crawler? Their events are kept but never counted."""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect

# crawlerdetect's regexes get slow on very long strings; no real browser sends more than this.
MAX_USER_AGENT_CHARS = 512
_detector = CrawlerDetect()


@lru_cache(maxsize=4096)
def is_crawler(user_agent: str) -> bool:
    """True for bots, crawlers, headless tools and an empty user agent."""
    agent = user_agent[:MAX_USER_AGENT_CHARS].strip()
    if not agent:
        return True
    return bool(_detector.isCrawler(agent))
