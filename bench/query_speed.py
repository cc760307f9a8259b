"""Benchmark: issue #10's query rows, over HTTP from a real server, in one run.

    python bench/query_speed.py [--store sqlite|mongo] [--gigs 100000] [--seller-gigs 10000]
                                [--queries 200] [--rank-queries 20] [--db PATH]

One database holds:
- the dense "hero" gig of `query_scale.py` (every 15-minute bucket of 30 days, three surfaces);
- `--seller-gigs` gigs of one seller (`s-big`) and the rest of `--gigs` spread over sellers
  of 100 gigs each; every one of them has traffic on 5 to 12 of the last 30 days, on one or
  two surfaces a day (about 20 events a gig).

It prints, each p50 over the same server in the same run:
- the hero's full 30-day answer (totals, 31 days, 5 surfaces) and `{ __typename }`, and their
  ratio (target <= 4, stretch 2);
- `topGigs(by: CTR)` of the 10,000-gig seller (target <= 100 ms, stretch 30 ms);
- `topGigs(by: CTR)` over every gig, admin (target <= 1 s, stretch 250 ms).

`--db PATH` keeps the SQLite file (built once, reused when it exists). On `--store mongo`
the script starts SecantusDB from `.venv-secantus` (or uses `--mongo-url`); that figure is
informational.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.query_scale import HERO, QUERY, hero_events  # noqa: E402
from bench.support import ingest_all, serving, start_secantus  # noqa: E402
from server.model import Event, EventType, Surface  # noqa: E402
from server.stores import open_store  # noqa: E402

ADMIN = "bench-admin"
BIG_SELLER = "s-big"
DAY = 86_400_000
BUCKET = 15 * 60 * 1000
BATCH = 2_000
TYPENAME = "{ __typename }"
TOP = """query($s: ID, $after: String) { topGigs(by: CTR, sellerId: $s, first: 20, after: $after)
  { totalCount edges { cursor node { gigId servedImpressions clicks ctr } }
    pageInfo { endCursor hasNextPage } } }"""


def gig_events(gigs: int, seller_gigs: int, now: int, seed: int = 7) -> Iterator[Event]:
    """Traffic of many gigs: each on 5-12 of the last 30 days, on one or two of the five
    surfaces a day (an impression each, 40 % of them viewable, 10 % clicked), and a page
    view on a fifth of its days."""
    rng = random.Random(seed)
    surfaces = tuple(Surface)
    n = 0
    for i in range(gigs):
        if i < seller_gigs:
            gig, seller = f"b-{i:06d}", BIG_SELLER
        else:
            gig, seller = f"g-{i:06d}", f"s-{i // 100:05d}"
        for day in rng.sample(range(30), rng.randint(5, 12)):
            ts = now - (day + 1) * DAY + rng.randrange(DAY - 60_000)
            for surface in rng.sample(surfaces, rng.randint(1, 2)):
                n += 1
                imp = f"i{n}"
                yield Event(f"e{n:09d}s", EventType.SERVED, gig, ts, imp=imp, pv=f"p{n}",
                            surface=surface, position=rng.randint(1, 48), seller=seller)
                chance = rng.random()
                if chance < 0.4:
                    yield Event(f"e{n:09d}v", EventType.VIEWABLE, gig, ts + 1000, imp=imp)
                if chance < 0.1:
                    yield Event(f"e{n:09d}c", EventType.CLICK, gig, ts + 2000, imp=imp,
                                surface=surface)
            if rng.random() < 0.2:
                n += 1
                yield Event(f"e{n:09d}w", EventType.VIEW, gig, ts + 3000, pv=f"w{n}")


async def load(url: str, gigs: int, seller_gigs: int, now: int) -> tuple[int, float]:
    """Write the database through `store.ingest`, BATCH events a call, 8 calls at a time."""
    store = open_store(url)
    await store.open()
    started = time.perf_counter()
    stored = 0
    try:
        stored = await ingest_all(
            store, (hero_events(now), gig_events(gigs, seller_gigs, now)), BATCH
        )
    finally:
        await store.close()
    return stored, time.perf_counter() - started


def timed(client: httpx.Client, url: str, body: dict[str, object], n: int,
          cold: list[float] | None = None) -> list[float]:
    """Milliseconds of `n` requests (after 3 that warm up; the first one's time goes to
    `cold`); every answer is checked."""
    timings = []
    for i in range(n + 3):
        started = time.perf_counter()
        answer = client.post(url, json=body)
        elapsed = (time.perf_counter() - started) * 1000
        data = answer.json()
        assert "errors" not in data, data
        if i == 0 and cold is not None:
            cold.append(elapsed)
        if i >= 3:
            timings.append(elapsed)
    return timings


def measure(database_url: str, args: argparse.Namespace) -> dict[str, list[float]]:
    with serving(database_url, ADMIN) as (client, url):
        hero = {"query": QUERY, "variables": {"g": HERO, "tz": "Asia/Kolkata"}}
        typename = {"query": TYPENAME}
        # Interleaved, so both see the same load on a shared machine.
        results: dict[str, list[float]] = {"hero": [], "typename": []}
        for _ in range(max(1, args.queries // 20)):
            results["hero"] += timed(client, url, hero, 20)
            results["typename"] += timed(client, url, typename, 20)
        results["seller cold"], results["admin cold"] = [], []
        results["seller"] = timed(
            client, url, {"query": TOP, "variables": {"s": BIG_SELLER}}, args.rank_queries,
            results["seller cold"],
        )
        results["admin"] = timed(
            client, url, {"query": TOP}, args.rank_queries, results["admin cold"]
        )
        first = client.post(url, json={"query": TOP}).json()["data"]["topGigs"]
        results["total"] = [float(first["totalCount"])]
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("sqlite", "mongo"), default="sqlite")
    parser.add_argument("--gigs", type=int, default=100_000)
    parser.add_argument("--seller-gigs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200, help="hero and __typename each")
    parser.add_argument("--rank-queries", type=int, default=20, help="each topGigs query")
    parser.add_argument("--db", help="SQLite file to keep and reuse")
    parser.add_argument("--mongo-url", help="use this MongoDB instead of starting SecantusDB")
    args = parser.parse_args()
    now = int(time.time() * 1000)
    tmp = tempfile.mkdtemp(dir=os.environ.get("BENCH_TMP"))
    secantus: subprocess.Popen[bytes] | None = None
    try:
        if args.store == "sqlite":
            db = Path(args.db) if args.db else Path(tmp) / "speed.db"
            database_url = f"sqlite:///{db.resolve()}"
            fresh = not db.exists()
        else:
            if args.mongo_url:
                database_url = args.mongo_url
            else:
                secantus, database_url = start_secantus(tmp, "gmbench", "&timeoutMS=600000")
            fresh = True
        if fresh:
            stored, seconds = asyncio.run(load(database_url, args.gigs, args.seller_gigs, now))
            print(f"loaded {stored:,} events ({args.gigs:,} gigs + hero) in {seconds:.0f}s "
                  f"({stored / seconds:,.0f} events/s through store.ingest)", flush=True)
        results = measure(database_url, args)
    finally:
        if secantus is not None:
            secantus.terminate()
            secantus.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)

    def p50(name: str) -> float:
        return statistics.median(results[name])

    ratio = p50("hero") / p50("typename")
    load_average = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nquery speed on {args.store}, over HTTP, p50 (load average {load_average})")
    print(f"{'query':<52}{'n':>5}{'p50 ms':>10}{'target':>12}{'stretch':>10}")
    rows = [
        ("hero gig: 30 days, totals + 31 days + 5 surfaces", "hero", "", ""),
        ("{ __typename }", "typename", "", ""),
        (f"topGigs(by: CTR), one seller of {args.seller_gigs:,} gigs", "seller", "<= 100", "30"),
        (f"topGigs(by: CTR), admin, {int(results['total'][0]):,} gigs", "admin", "<= 1000", "250"),
    ]
    for label, name, target, stretch in rows:
        print(f"{label:<52}{len(results[name]):>5}{p50(name):>10.2f}{target:>12}{stretch:>10}")
    for name in ("seller", "admin"):
        label = f"  first topGigs of the server ({name}, nothing kept yet)"
        print(f"{label:<52}{1:>5}{results[name + ' cold'][0]:>10.2f}")
    print(f"{'ratio hero / __typename':<52}{'':>5}{ratio:>10.2f}{'<= 4':>12}{'2':>10}")


if __name__ == "__main__":
    main()
