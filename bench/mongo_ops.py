"""Benchmark: what a listing beacon costs the MongoDB store, counted in commands, not seconds.

    python bench/mongo_ops.py [--seconds 20] [--writers 8] [--beacons 10]
                              [--mongodb-url URL]

On a fresh SecantusDB (from `.venv-secantus`, scripts/install) or on `--mongodb-url`, through
the real path: `POST /collect` → screens (the over-rate counters included) → store, with the
app built in process and called over httpx's ASGI transport, a desktop browser's user agent
and a client address of its own per beacon (a crawler's beacon, or one address over its
limit, would cost less and count nothing). Every command any client of the store sends is
counted with PyMongo's command monitoring, so the figures hold whatever the store's
internals: only the Store API and HTTP are used.

1. Commands per listing beacon: beacons of 20 `served` tiles (with a few `viewable` and a
   `click`) for 20 gigs already known (one beacon warms them first), by command name; and
   the documents written per event (from the write commands' replies).
2. Popular gigs: `--writers` concurrent writers through two stores (two "servers", each its
   own client and app name) post listings of the same 20 gigs for `--seconds`. Transaction
   attempts (transactions started) per acknowledged beacon, aborts and conflicts, beacons
   refused (503, retried with the same ids until acknowledged, as the snippet's queue would
   be); then whether the stored totals equal what the acknowledged beacons sent.

SecantusDB's speed means nothing here (a Python server on shared cores): the counts do.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from pymongo import monitoring

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.support import start_secantus  # noqa: E402
from server.app import create_app  # noqa: E402
from server.model import DAY_MS  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.stores import Store, open_store  # noqa: E402

GIGS = [f"g-popular-{n:02d}" for n in range(20)]
VIEWABLE_PER_BEACON = 3  # of the beacon's first tiles; the first one also clicked
BROWSER = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")
WRITES = ("insert", "update", "delete", "findAndModify", "bulkWrite")
CONFLICT_CODES = {112, 251}  # WriteConflict, NoSuchTransaction


class Commands(monitoring.CommandListener):
    """Counts what every client created after it sends: commands by name, transactions
    started, failures by kind, and documents written (from the replies)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sent: Counter[str] = Counter()
        self.targets: dict[str, Counter[str]] = {}
        self.failures: Counter[str] = Counter()
        self.transactions = 0
        self.written = 0
        self.in_flight = 0
        # Commands sent while none was in flight: with one beacon at a time, the round trips
        # a beacon waits for one after another.
        self.round_trips = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        self.sent[name] += 1
        target = event.command.get(name)
        if isinstance(target, str):
            self.targets.setdefault(name, Counter())[target] += 1
        if event.command.get("startTransaction"):
            self.transactions += 1
        if self.in_flight == 0:
            self.round_trips += 1
        self.in_flight += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self.in_flight -= 1
        if event.command_name in WRITES:
            self.written += documents_written(event.command_name, event.reply)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.in_flight -= 1
        failure: Mapping[str, Any] = event.failure if isinstance(event.failure, Mapping) else {}
        self.failures[event.command_name] += 1
        if "TransientTransactionError" in failure.get("errorLabels", ()):
            self.failures["TransientTransactionError"] += 1
        if failure.get("code") in CONFLICT_CODES:
            self.failures[str(failure.get("codeName", failure.get("code")))] += 1


def documents_written(name: str, reply: Mapping[str, Any]) -> int:
    """Documents a successful write command inserted, upserted, matched or deleted."""
    if name == "findAndModify":
        return int(reply.get("lastErrorObject", {}).get("n", 0))
    if name == "bulkWrite":
        return sum(int(reply.get(k, 0)) for k in ("nInserted", "nUpserted", "nMatched",
                                                    "nDeleted"))
    return int(reply.get("n", 0))


@dataclass
class Sent:
    """What acknowledged beacons sent, per gig: (served, viewable, clicks)."""

    per_gig: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            counts = self.per_gig.setdefault(event["gig"], Counter())
            counts[event["type"]] += 1


_serial = itertools.count()


def listing(gigs: list[str], now: int) -> list[dict[str, Any]]:
    """A search page's beacon: one page view, a tile per gig, a few seen, one clicked."""
    run = f"{now:x}{next(_serial):06d}{uuid.uuid4().hex[:6]}"
    pv = f"pv-{run}"
    events: list[dict[str, Any]] = []
    for position, gig in enumerate(gigs, start=1):
        events.append({"id": f"s-{run}-{position:02d}", "type": "served", "gig": gig,
                       "imp": f"i-{run}-{position:02d}", "pv": pv, "surface": "search",
                       "context": "logo design", "position": position, "ts": now - 2000})
    for position, gig in enumerate(gigs[:VIEWABLE_PER_BEACON], start=1):
        events.append({"id": f"v-{run}-{position:02d}", "type": "viewable", "gig": gig,
                       "imp": f"i-{run}-{position:02d}", "ts": now - 1000})
    events.append({"id": f"c-{run}-01", "type": "click", "gig": gigs[0], "imp": f"i-{run}-01",
                   "surface": "search", "ts": now - 500})
    return events


_addresses = itertools.count(1)


async def post(app: Any, events: list[dict[str, Any]]) -> int:
    """POST one beacon as a browser at an address of its own would; the status."""
    n = next(_addresses)
    client_address = (f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 50000)
    transport = httpx.ASGITransport(app=app, client=client_address)
    body = orjson.dumps({"sent_at": int(time.time() * 1000), "events": events})
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
        response = await http.post("/collect", content=body, headers={
            "content-type": "text/plain;charset=UTF-8", "user-agent": BROWSER})
    return response.status_code


def app_over(url: str, app_name: str) -> tuple[Any, Store]:
    separator = "&" if "?" in url else "?"
    store = open_store(f"{url}{separator}appName={app_name}")
    settings = Settings.from_env({"GIGMETRICS_DATABASE_URL": url, "GIGMETRICS_DEMO": "false",
                                  "GIGMETRICS_ADMIN_KEY": "bench-admin"})
    return create_app(settings, store), store


def database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{name}" + (f"?{query}" if query else "")


async def per_beacon(url: str, commands: Commands, beacons: int) -> None:
    app, store = app_over(url, "gm-bench-a")
    await store.open()
    try:
        if await post(app, listing(GIGS, now_ms())) != 200:
            raise SystemExit("the warming beacon was refused")
        commands.reset()
        statuses = [await post(app, listing(GIGS, now_ms())) for _ in range(beacons)]
        # Read before the store's close sends its own commands.
        sent, written, trips = Counter(commands.sent), commands.written, commands.round_trips
        targets = {name: Counter(counts) for name, counts in commands.targets.items()}
    finally:
        await store.close()
    events = len(listing(GIGS, now_ms()))
    print(f"\n1. commands per listing beacon ({events} events: {len(GIGS)} served, "
          f"{VIEWABLE_PER_BEACON} viewable, 1 click; gigs known; mean of {beacons} beacons, "
          f"statuses {dict(Counter(statuses))})")
    for name, count in sorted(sent.items(), key=lambda kv: (-kv[1], kv[0])):
        on = ", ".join(f"{target} {n / beacons:g}" for target, n in
                       sorted(targets.get(name, Counter()).items()))
        print(f"   {name:<20} {count / beacons:6.2f}   {on}".rstrip())
    print(f"   {'total':<20} {sum(sent.values()) / beacons:6.2f}")
    print(f"   {'round trips':<20} {trips / beacons:6.2f}   (commands none other overlapped)")
    print(f"   documents written per event: {written / beacons / events:.2f} "
          f"({written / beacons:.1f} per beacon)")


async def popular(url: str, commands: Commands, writers: int, seconds: float) -> None:
    servers = [app_over(url, f"gm-bench-server-{n}") for n in (1, 2)]
    for _, store in servers:
        await store.open()
    sent = Sent()
    acknowledged = refused = 0
    started = now_ms()
    stop = time.monotonic() + seconds

    async def writer(n: int) -> None:
        nonlocal acknowledged, refused
        app = servers[n % len(servers)][0]
        while time.monotonic() < stop:
            events = listing(GIGS, now_ms())
            while (status := await post(app, events)) == 503:
                refused += 1  # the same ids again: a retry is deduped, never doubled
            if status != 200:
                raise SystemExit(f"a beacon was answered {status}")
            acknowledged += 1
            sent.add(events)

    commands.reset()
    try:
        await asyncio.gather(*(writer(n) for n in range(writers)))
        counts = dict(commands.sent)
        transactions, failed = commands.transactions, dict(commands.failures)
        stored = await totals(servers[0][1], started - DAY_MS, now_ms() + DAY_MS)
    finally:
        for _, store in servers:
            await store.close()
    beacons = max(acknowledged, 1)
    print(f"\n2. popular gigs: {writers} writers, 2 servers, {seconds:g} s, the same "
          f"{len(GIGS)} gigs in every listing")
    print(f"   acknowledged beacons          {acknowledged}")
    print(f"   refused (503, then retried)   {refused}")
    print(f"   transactions started / beacon {transactions / beacons:.2f}")
    print(f"   commitTransaction / beacon    {counts.get('commitTransaction', 0) / beacons:.2f}")
    print(f"   abortTransaction / beacon     {counts.get('abortTransaction', 0) / beacons:.2f}")
    print(f"   commands / beacon             {sum(counts.values()) / beacons:.2f}")
    print(f"   failed commands               {failed or 'none'}")
    # The clicked tile was also reported viewable: each event of a beacon counts once.
    expected = {gig: (c["served"], c["viewable"], c["click"]) for gig, c in
                sent.per_gig.items()}
    wrong = {gig: (stored.get(gig), want) for gig, want in expected.items()
             if stored.get(gig) != want}
    print(f"   stored totals exact           {'yes' if not wrong else 'NO: ' + str(wrong)}")


async def totals(store: Store, start: int, end: int) -> dict[str, tuple[int, int, int]]:
    """Each gig's stored (served, viewable, clicks) over one span."""
    summed: dict[str, Counter[str]] = {}
    for row in await store.span_totals(GIGS, [start, end]):
        counts = summed.setdefault(row.gig, Counter())
        counts["served"] += row.counts.served
        counts["viewable"] += row.counts.viewable
        counts["clicks"] += row.counts.clicks
    return {gig: (c["served"], c["viewable"], c["clicks"]) for gig, c in summed.items()}


def now_ms() -> int:
    return int(time.time() * 1000)


async def main(args: argparse.Namespace, url: str) -> None:
    # A refused batch makes the app unready and says so; the figures below say it once.
    logging.getLogger("gigmetrics").setLevel(logging.ERROR)
    commands = Commands()
    monitoring.register(commands)  # every client made from here on reports to it
    tag = uuid.uuid4().hex[:8]
    await per_beacon(database(url, f"gm_ops_{tag}_a"), commands, args.beacons)
    await popular(database(url, f"gm_ops_{tag}_b"), commands, args.writers, args.seconds)


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--beacons", type=int, default=10)
    parser.add_argument("--mongodb-url", default="")
    args = parser.parse_args()
    if args.mongodb_url:
        asyncio.run(main(args, args.mongodb_url))
        return
    home = tempfile.mkdtemp(prefix="gm-mongo-ops-")
    process, url = start_secantus(home)
    try:
        print(f"SecantusDB at {url}")
        asyncio.run(main(args, url))
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    run()
