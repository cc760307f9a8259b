"""Is a user agent a crawler? Their events are kept but never counted."""

from __future__ import annotations

from functools import lru_cache

from crawlerdetect import CrawlerDetect

# crawlerdetect's regexes get slow on very long strings, and the cache below must stay small
# whatever clients send: no real browser sends more than this.
MAX_USER_AGENT_CHARS = 512
CACHED_AGENTS = 4096
_detector = CrawlerDetect()


def is_crawler(user_agent: str) -> bool:
    """True for bots, crawlers, headless tools and an empty user agent."""
    # Cut before the cache: keyed by the whole header, distinct huge agents grew memory
    # without bound (4096 entries of a megabyte each).
    return _is_crawler(user_agent[:MAX_USER_AGENT_CHARS])


@lru_cache(maxsize=CACHED_AGENTS)
def _is_crawler(agent: str) -> bool:
    agent = agent.strip()
    if not agent:
        return True
    return bool(_detector.isCrawler(agent))
