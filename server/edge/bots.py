"""Is a user agent a crawler? Their events are kept but never counted.

crawlerdetect's patterns (a kept, maintained list) run on RE2, whose matching is linear in
the agent's length: on Python's backtracking engine one alternation of 1,400 patterns cost
33 ms for a 508-character agent of one repeated letter and 470 ms for 2,000 characters, so a
few clients with made-up agents could hold the event loop (`bench/hostile_clients.py`).
"""

from __future__ import annotations

import re
from functools import lru_cache

import re2
from crawlerdetect.providers.crawlers import data as _CRAWLER_PATTERNS
from crawlerdetect.providers.exclusions import data as _EXCLUDED_PATTERNS

# The cache below must stay small whatever clients send: no real browser sends more.
MAX_USER_AGENT_CHARS = 512
CACHED_AGENTS = 4096


def _re2(patterns: list[str]) -> re2._Regexp:
    options = re2.Options()
    options.case_sensitive = False
    return re2.compile("|".join(patterns), options)


# RE2 has no lookaround; the few patterns that use one stay on Python's engine, where a
# literal prefix (e.g. `Yandex(?!Search)`) keeps them linear.
_LOOKAROUND = ("(?!", "(?=", "(?<")
_PYTHON_ONLY = [p for p in _CRAWLER_PATTERNS if any(s in p for s in _LOOKAROUND)]
_CRAWLERS = _re2([p for p in _CRAWLER_PATTERNS if p not in _PYTHON_ONLY])
_CRAWLERS_WITH_LOOKAROUND = re.compile("|".join(_PYTHON_ONLY) or "(?!)", re.IGNORECASE)
# Browser tokens that contain crawler words ("Mobile Safari", "Google Page Speed" exclusions…)
# are cut out first, as crawlerdetect does.
_EXCLUSIONS = _re2(list(_EXCLUDED_PATTERNS))


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
    rest = _EXCLUSIONS.sub("", agent)
    if not rest:
        return False
    return bool(_CRAWLERS.search(rest) or _CRAWLERS_WITH_LOOKAROUND.search(rest))
