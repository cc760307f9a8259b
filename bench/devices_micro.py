"""Micro-benchmark: what telling a User-Agent's device costs (server/edge/devices.py).

    python bench/devices_micro.py [--agents 1000] [--rounds 5]

Agents are real templates (desktop, phone and tablet browsers, in-app browsers, TVs) with
their version numbers varied, so all `--agents` are distinct, as on a busy collector. Prints
the best of `--rounds` rounds in CPU µs per agent:

- uncached: what /collect pays for an agent it has not seen (the crawler screen, asked only
  for beacons with events, is not part of it: bench/hostile_clients.py measures that);
- cached: every later request from the same agent.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.edge import devices
from server.edge.bots import CACHED_AGENTS

TEMPLATES = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{a}.0.{b}.{c} Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{a}.0) Gecko/20100101 Firefox/{a}.{b}",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_{b}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.{c} Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/{a}.{b} Mobile/15E{c} Safari/604.1",
    "Mozilla/5.0 (Linux; Android {a}; SM-S9{c}B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{b}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android {a}; SM-X{c}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{b}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/{a}.{b} Mobile/15E{c} Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS {a}_{b} like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E{c} [FBAN/FBIOS;FBDV/iPhone{a},{b};FBMD/iPhone;FBSV/{a}.{b}]",
    "Mozilla/5.0 (SMART-TV; Linux; Tizen {a}.{b}) AppleWebKit/537.36 (KHTML, like Gecko) "
    "{c}.0.3809.146/{a}.0 TV Safari/537.36",
]


def distinct_agents(count: int) -> list[str]:
    """`count` different agents, templates taken in turn."""
    rng = random.Random(17)
    seen: set[str] = set()
    while len(seen) < count:
        template = TEMPLATES[len(seen) % len(TEMPLATES)]
        seen.add(template.format(a=rng.randint(9, 140), b=rng.randint(0, 9999),
                                 c=rng.randint(100, 999)))
    return sorted(seen, key=lambda _: rng.random())


def best_us(prepare: Callable[[], None], agents: list[str], rounds: int) -> float:
    """Best CPU µs per agent of `rounds` passes over `agents`, `prepare` run before each."""
    best = float("inf")
    for _ in range(rounds):
        prepare()
        started = time.process_time()
        for agent in agents:
            devices.device_of(agent)
        best = min(best, time.process_time() - started)
    return best / len(agents) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    agents = distinct_agents(args.agents)
    assert args.agents <= CACHED_AGENTS, "more agents than the cache holds"

    def cold() -> None:
        devices._device_of.cache_clear()

    def warm() -> None:
        for agent in agents:
            devices.device_of(agent)

    print(f"{len(agents)} distinct agents, best of {args.rounds} rounds, CPU µs per agent")
    print(f"  uncached: {best_us(cold, agents, args.rounds):6.2f}")
    print(f"  cached:   {best_us(warm, agents, args.rounds):6.2f}")
    found = collections.Counter(devices.device_of(agent) for agent in agents)
    print("  devices: " + ", ".join(f"{d.value} {n}" for d, n in sorted(found.items())))


if __name__ == "__main__":
    main()
