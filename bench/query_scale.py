"""Benchmark: `gigMetrics` latency at 100k and at 10M stored events, and their ratio.

    python bench/query_scale.py [--small 100000] [--large 10000000] [--queries 300]

Each database holds the same "hero" gig — dense traffic in every 15-minute bucket of the last
30 days on three surfaces — plus filler traffic spread over 5,000 other gigs up to the size.
The query reads the hero's 30-day totals, 31 daily entries and per-surface figures over HTTP
from a real server. Because answers come from rollups, the time should not grow with the
number of stored events.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import ingest_all, serving  # noqa: E402
from server.model import Event, EventType, Surface  # noqa: E402
from server.stores import open_store  # noqa: E402

HERO = "g-hero"
ADMIN = "bench-admin"
QUERY = """query($g: ID!, $tz: String) { gigMetrics(gigId: $g, timeZone: $tz) {
  servedImpressions viewableImpressions clicks views ctr viewableCtr viewabilityRate
  averagePosition daily { date servedImpressions clicks ctr }
  bySurface { surface clicks ctr } } }"""
BUCKET = 15 * 60 * 1000
SURFACES = (Surface.SEARCH, Surface.CATEGORY, Surface.HOMEPAGE)


def hero_events(now: int) -> Iterator[Event]:
    """About 26k events: every bucket of 30 days, on three surfaces, with views and clicks."""
    start = now - 30 * 86_400_000
    n = 0
    for bucket in range(start - start % BUCKET, now - 60_000, BUCKET):
        for surface in SURFACES:
            n += 1
            imp = f"h{n}"
            yield Event(f"hero-s-{n:09d}", EventType.SERVED, HERO, bucket + 1000, imp=imp,
                        pv=f"hp{n}", surface=surface, position=n % 48 + 1, seller="hero-seller")
            if n % 2 == 0:
                yield Event(f"hero-v-{n:09d}", EventType.VIEWABLE, HERO, bucket + 2000, imp=imp)
            if n % 7 == 0:
                yield Event(f"hero-c-{n:09d}", EventType.CLICK, HERO, bucket + 3000, imp=imp,
                            surface=surface)
        yield Event(f"hero-w-{bucket}", EventType.VIEW, HERO, bucket + 4000, pv=f"hw{bucket}")


def filler_events(now: int, count: int, seed: int) -> Iterator[Event]:
    """Served/viewable/click events over 5,000 gigs in the last 30 days."""
    rng = random.Random(seed)
    span = 30 * 86_400_000 - 120_000
    kinds = (EventType.SERVED,) * 6 + (EventType.VIEWABLE,) * 3 + (EventType.CLICK,)
    for n in range(count):
        kind = kinds[n % 10]
        gig = f"g-{rng.randrange(5000)}"
        imp = f"f{seed}-{n - n % 10}"
        surface = SURFACES[n % 3]
        yield Event(f"f{seed}-{n:010d}", kind, gig, now - 60_000 - rng.randrange(span), imp=imp,
                    surface=surface if kind is not EventType.VIEWABLE else None,
                    position=n % 48 + 1 if kind is EventType.SERVED else None)


async def load(db: Path, total: int, now: int) -> tuple[int, float]:
    store = open_store(f"sqlite:///{db}")
    await store.open()
    started = time.perf_counter()
    stored = 0
    try:
        hero = list(hero_events(now))
        events: Iterator[Event] = iter(hero)
        filler = filler_events(now, max(0, total - len(hero)), seed=total)
        stored = await ingest_all(store, (events, filler), 500)
    finally:
        await store.close()
    return stored, time.perf_counter() - started


def query_latencies(db: Path, queries: int) -> list[float]:
    with serving(f"sqlite:///{db}", ADMIN) as (client, url):
        timings = []
        for i in range(queries + 20):
            tz = ("UTC", "Asia/Kolkata", "America/New_York")[i % 3]
            started = time.perf_counter()
            body = client.post(url, json={"query": QUERY, "variables": {"g": HERO, "tz": tz}})
            elapsed = (time.perf_counter() - started) * 1000
            data = body.json()
            assert "errors" not in data, data
            assert data["data"]["gigMetrics"]["servedImpressions"] > 0
            if i >= 20:  # the first ones warm caches
                timings.append(elapsed)
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=300)
    args = parser.parse_args()
    now = int(time.time() * 1000)
    results = {}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        for size in (args.small, args.large):
            db = Path(tmp) / f"q{size}.db"
            stored, seconds = asyncio.run(load(db, size, now))
            mb = sum(p.stat().st_size for p in Path(tmp).glob(f"q{size}.db*")) / 1e6
            print(f"loaded {stored:,} events in {seconds:.0f}s ({stored / seconds:,.0f} events/s "
                  f"through store.ingest), database {mb:,.0f} MB", flush=True)
            timings = query_latencies(db, args.queries)
            results[size] = (statistics.median(timings),
                             statistics.quantiles(timings, n=100)[98])
            db.unlink()
    print(f"\ngigMetrics (totals + 31 days + 5 surfaces) for one dense gig, over HTTP, "
          f"{args.queries} queries each")
    print(f"{'stored events':>14}{'p50 ms':>9}{'p99 ms':>9}")
    for size, (p50, p99) in results.items():
        print(f"{size:>14,}{p50:>9.2f}{p99:>9.2f}")
    ratio = results[args.large][0] / results[args.small][0]
    print(f"ratio p50 {args.large:,} : {args.small:,} = {ratio:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
