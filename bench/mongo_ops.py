"""Benchmark: what one beacon costs the MongoDB store, in commands, not seconds.

    python bench/mongo_ops.py [--mongodb-url URL] [--beacons 40] [--writers 8]

Counted with pymongo's command monitoring on the store's own clients (so the figures hold on
any MongoDB-wire server; SecantusDB's speed means nothing here):

1. commands per listing beacon (20 events of 20 known gigs, each with its seller and
   context) and documents written per event;
2. transaction attempts per acknowledged beacon with `--writers` concurrent writers posting
   listings of the same 20 popular gigs through 2 stores ("servers"), the refusals (what
   `/collect` would answer 503), and whether the totals are exact.

The store's part only: the HTTP layer's over-rate counters are not in these figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import start_secantus
from server.errors import StoreUnavailable
from server.model import Event, EventType, Surface, now_ms
from server.stores import MongoStore

GIGS = [f"popular-{n}" for n in range(20)]


class Commands(monitoring.CommandListener):
    """Every command the store's clients send."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def listing(page: str, ts: int) -> list[Event]:
    """One listing beacon: a tile of each popular gig served on a search page."""
    return [
        Event(f"{page}-{n}", EventType.SERVED, gig, ts, seller=f"s-{n}", imp=f"{page}-i{n}",
              surface=Surface.SEARCH, context="logo design", position=n + 1)
        for n, gig in enumerate(GIGS)
    ]


async def measure(url: str, beacons: int, writers: int) -> None:
    commands = Commands()

    def recording(u: str) -> Any:
        return AsyncMongoClient(u, event_listeners=[commands], w="majority", journal=True)

    servers = [MongoStore(url, client_factory=recording) for _ in range(2)]
    for server in servers:
        await server.open()
    ts = now_ms()
    try:
        await servers[0].ingest(listing("warm", ts))  # the gigs become known
        commands.sent.clear()
        for b in range(beacons):
            await servers[0].ingest(listing(f"seq{b}", ts))
        names = Counter(next(iter(c)) for c in commands.sent)
        written = sum(len(c["ops"]) for c in commands.sent if "bulkWrite" in c)
        written += sum(len(c.get("updates", c.get("documents", ())))
                       for c in commands.sent if "update" in c or "insert" in c)
        per_beacon = sum(names.values()) / beacons
        print(f"commands per listing beacon: {per_beacon:.2f} "
              f"({', '.join(f'{n} {k}' for k, n in sorted(names.items()))} over {beacons})")
        print(f"documents written per event: {written / (beacons * len(GIGS)):.2f}")

        commands.sent.clear()
        refused = 0
        acknowledged = 0

        async def writer(w: int) -> None:
            nonlocal refused, acknowledged
            for b in range(beacons // writers or 1):
                events = listing(f"w{w}b{b}", ts)
                while True:  # a client retrying through the other server until a 200
                    try:
                        await servers[(w + b) % 2].ingest(events)
                        acknowledged += 1
                        break
                    except StoreUnavailable:
                        refused += 1

        started = time.monotonic()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        attempts = sum(1 for c in commands.sent if c.get("startTransaction"))
        served = 0
        for row in await servers[0].rollups(GIGS, 0, ts + 10**9):
            served += row.counts.served
        expected = (1 + beacons + acknowledged) * len(GIGS)
        verdict = "exact" if served == expected else "WRONG"
        print(f"{writers} writers on {len(GIGS)} popular gigs through 2 stores: "
              f"{attempts / acknowledged:.2f} transaction attempts per acknowledged beacon, "
              f"{refused} refused, {acknowledged} beacons in {time.monotonic() - started:.1f} s; "
              f"served {served} (expected {expected}: {verdict})")
    finally:
        for server in servers:
            await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mongodb-url", default="")
    parser.add_argument("--beacons", type=int, default=40)
    parser.add_argument("--writers", type=int, default=8)
    args = parser.parse_args()
    if args.mongodb_url:
        asyncio.run(measure(args.mongodb_url, args.beacons, args.writers))
        return
    with tempfile.TemporaryDirectory() as home:
        process, url = start_secantus(home, "mongo_ops")
        try:
            asyncio.run(measure(url, args.beacons, args.writers))
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
