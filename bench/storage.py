"""Benchmark: bytes on disk per stored event in the embedded store (SQLite), table by table.

    python bench/storage.py [--events 1000000] [--gigs 5000] [--hours 24]

Events are shaped like the snippet's: 24-character ids (8 base-36 digits of the time and 16
random ones), each page load a listing of 12 served tiles (with seller, context and position),
5 of them viewable, 2 clicked, and 1 gig-page view; gigs and listings drawn at random over
`--hours` of the last day. They go in through `SQLiteStore.ingest` (batches of 100, many at
once, so the writer's group commit forms groups as it does under load); then the WAL is
checkpointed and the file measured, with SQLite's `dbstat` per table.

The baseline beside the figure is the same events as the snippet sends them (compact JSON),
measured in the same run: what a log of the raw beacons would cost before any index.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.edge.events import event_to_wire  # noqa: E402
from server.model import Event, EventType, Surface  # noqa: E402
from server.stores import SQLiteStore  # noqa: E402

TARGET, STRETCH = 100, 60
CONTEXTS = ["logo design", "wordpress", "video editing", "translation", "voice over",
            "seo", "illustration", "data entry", "resume writing", "mobile app"]


def uid(ms: int, rng: random.Random) -> str:
    """A snippet id: the time in 8 base-36 digits, then 16 random base-36 digits."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    head = ""
    while ms:
        ms, r = divmod(ms, 36)
        head = digits[r] + head
    return head.rjust(8, "0") + "".join(rng.choice(digits) for _ in range(16))


def page_loads(events: int, gigs: int, hours: float, rng: random.Random) -> Iterator[list[Event]]:
    """Batches of 20 events (one listing page load each), oldest first."""
    now = int(time.time() * 1000)
    start = now - int(hours * 3_600_000)
    loads = events // 20
    for n in range(loads):
        ts = start + (now - start - 60_000) * n // loads
        pv = uid(ts, rng)
        surface = rng.choice((Surface.SEARCH, Surface.SEARCH, Surface.CATEGORY, Surface.HOMEPAGE))
        context = rng.choice(CONTEXTS) if surface is not Surface.HOMEPAGE else None
        tiles = [(f"g-{rng.randrange(gigs)}", uid(ts, rng)) for _ in range(12)]
        batch = [
            Event(uid(ts, rng), EventType.SERVED, gig, ts, f"s-{hash(gig) % 997}", imp, pv,
                  surface, context, position)
            for position, (gig, imp) in enumerate(tiles, 1)
        ]
        batch += [Event(uid(ts + 900, rng), EventType.VIEWABLE, gig, ts + 900, imp=imp)
                  for gig, imp in tiles[:5]]
        batch += [Event(uid(ts + 2_000, rng), EventType.CLICK, gig, ts + 2_000, imp=imp,
                        surface=surface) for gig, imp in tiles[:2]]
        gig = tiles[0][0]
        batch.append(Event(uid(ts + 2_500, rng), EventType.VIEW, gig, ts + 2_500, pv=uid(ts, rng)))
        yield batch


async def fill(path: Path, events: int, gigs: int, hours: float) -> tuple[int, int]:
    """Stores the events; returns (events stored, bytes of their wire JSON)."""
    store = SQLiteStore(path)
    await store.open()
    rng = random.Random(7)
    stored = wire = 0
    try:
        pending: list[list[Event]] = []
        for batch in page_loads(events, gigs, hours, rng):
            wire += len(orjson.dumps({"events": [event_to_wire(e) for e in batch]}))
            pending.append(batch)
            if len(pending) == 40:
                results = await asyncio.gather(*(store.ingest(b) for b in pending))
                stored += sum(r.accepted for r in results)
                pending = []
        results = await asyncio.gather(*(store.ingest(b) for b in pending))
        stored += sum(r.accepted for r in results)
    finally:
        await store.close()
    return stored, wire


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--gigs", type=int, default=5_000)
    parser.add_argument("--hours", type=float, default=24)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "storage.db"
        started = time.perf_counter()
        stored, wire = asyncio.run(fill(path, args.events, args.gigs, args.hours))
        seconds = time.perf_counter() - started
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            tables = conn.execute(
                "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        conn.close()
        size = os.path.getsize(path)
    per_event = size / stored
    print(f"storage, SQLite: {stored:,} events ({args.gigs:,} gigs, {args.hours:g} h) stored in "
          f"{seconds:.0f} s through SQLiteStore.ingest")
    print(f"{'':<34}{'bytes/event':>12}")
    print(f"{'file on disk (after checkpoint)':<34}{per_event:>12.1f}   target <= {TARGET}, "
          f"stretch {STRETCH}: {'met' if per_event <= TARGET else 'NOT met'}")
    print(f"{'baseline: the beacons as JSON':<34}{wire / stored:>12.1f}   ratio disk : JSON = "
          f"{per_event / (wire / stored):.2f}")
    for name, pages in tables:
        if pages / stored >= 0.5:
            print(f"  {name:<32}{pages / stored:>12.1f}")


if __name__ == "__main__":
    main()
