"""Generated traffic for the demo sellers, so a first `scripts/serve` opens a dashboard with
real-looking charts: the last 30 days and the 30 before them (for the change figures), on
mobile, desktop and tablet, with orders in two currencies (most after a click, some not) and
the demo's two listing experiments (`EXPERIMENTS`): one with a clear winner, one without.

Only an empty embedded (SQLite) store with the demo on is filled, and only through the normal
ingest path (the same validation, dedupe and counting as `recordEvents` with the admin key),
each event with the device its browser would have had, as `/collect` sets it.
Every generated event id starts with `demo-`: that marks the data as demo data.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Iterator
from typing import Any

from ..edge.events import MAX_EVENTS_PER_BATCH, parse_events
from ..ingest import record
from ..model import Device
from ..settings import Settings
from ..stores.base import Store
from . import EXPERIMENTS, SEARCHES, Gig, catalogue

DAY_MS = 86_400_000
DAYS = 60
ID_PREFIX = "demo-"
PARALLEL_BATCHES = 20
# Which device shows an impression, and how it changes viewability and CTR: phones scroll
# past more tiles and tap fewer of them.
DEVICES = ((Device.MOBILE, 0.50, 0.85, 0.8), (Device.DESKTOP, 0.38, 1.1, 1.2),
           (Device.TABLET, 0.12, 1.0, 1.0))
# The CTR of each variant of the demo's experiments (`EXPERIMENTS`): thumbnail B of g-101
# gets clicked three times as often, g-102's two alike. Their gigs are shown twice as often
# as others, so that 30 days hold a verdict whatever day the demo starts.
VARIANT_CTR = {"g-101": {"A": 0.03, "B": 0.09}, "g-102": {"A": 0.05, "B": 0.05}}
EXPERIMENT_TRAFFIC = 2
ORDER_AFTER_CLICK = 0.15
ORDER_AFTER_VIEW = 0.04  # orders without an impression: a bookmark, a link from elsewhere
EUR_SHARE = 0.3  # buyers who pay in euros
EUR_PER_USD = 0.92

Ids = Callable[[str], str]


def demo_events(now: int, days: int = DAYS, seed: int = 8) -> Iterator[dict[str, Any]]:
    """Wire events (as `/collect` takes them) for every demo gig over the last `days` days."""
    for _, event in demo_traffic(now, days, seed):
        yield event


def demo_traffic(
    now: int, days: int = DAYS, seed: int = 8
) -> Iterator[tuple[Device, dict[str, Any]]]:
    """Each demo event and the device of the browser that sent it: weekly rhythm, slow growth,
    popular and quiet gigs, 55-85 % viewability, 1-7 % CTR, orders, experiments."""
    rng = random.Random(seed)
    counter = 0

    def new_id(kind: str) -> str:
        nonlocal counter
        counter += 1
        return f"{ID_PREFIX}{kind}-{counter:08d}"

    gigs = list(catalogue().values())
    popularity = {g.gig_id: 8 + 60 / (1 + i % 37) * rng.uniform(0.6, 1.4)
                  for i, g in enumerate(gigs)}
    ctr = {g.gig_id: rng.uniform(0.01, 0.07) for g in gigs}
    viewability = {g.gig_id: rng.uniform(0.55, 0.85) for g in gigs}
    start = now - days * DAY_MS
    for day in range(days):
        day_start = start + day * DAY_MS
        weekday = (day_start // DAY_MS + 3) % 7  # 0 = Monday
        rhythm = (0.7 if weekday >= 5 else 1.0) * (0.8 + 0.4 * day / days)
        for gig in gigs:
            wave = 1 + 0.25 * math.sin(day / 3 + popularity[gig.gig_id])
            shown = rng.randint(0, 3) + int(popularity[gig.gig_id] * rhythm * wave)
            if gig.gig_id in EXPERIMENTS:
                shown *= EXPERIMENT_TRAFFIC
            for _ in range(shown):
                ts = day_start + rng.randrange(DAY_MS)
                if ts >= now - 60_000:
                    continue
                profile = _device(rng)
                for event in _impression(rng, gig, ts, ctr, viewability, new_id, profile):
                    if event["ts"] < now:
                        yield profile[0], event
            for _ in range(rng.randint(0, 2)):
                ts = day_start + rng.randrange(DAY_MS)
                if ts >= now - 60_000:
                    continue
                device = _device(rng)[0]
                yield device, {"id": new_id("v"), "type": "view", "gig": gig.gig_id,
                               "seller": gig.seller, "pv": new_id("p"), "ts": ts}
                if rng.random() < ORDER_AFTER_VIEW:
                    yield device, _order(rng, gig, None, ts + 30_000, new_id)


def _device(rng: random.Random) -> tuple[Device, float, float]:
    """A device for one impression, and its viewability and CTR factors."""
    pick = rng.random()
    for device, share, seen, clicked in DEVICES:
        if pick < share:
            return device, seen, clicked
        pick -= share
    return DEVICES[-1][0], DEVICES[-1][2], DEVICES[-1][3]


def _order(rng: random.Random, gig: Gig, imp: str | None, ts: int, new_id: Ids
           ) -> dict[str, Any]:
    """An order of `gig`, after the click of `imp` (or none), in dollars or euros."""
    order: dict[str, Any] = {"id": new_id("o"), "type": "order", "gig": gig.gig_id, "ts": ts}
    if imp is not None:
        order["imp"] = imp
    if rng.random() < EUR_SHARE:
        order.update(value=round(gig.price * EUR_PER_USD, 2), currency="EUR")
    else:
        order.update(value=float(gig.price), currency="USD")
    return order


def _impression(rng: random.Random, gig: Gig, ts: int, ctr: dict[str, float],
                viewability: dict[str, float], new_id: Ids,
                device: tuple[Device, float, float]) -> Iterator[dict[str, Any]]:
    where = rng.random()
    if where < 0.55:
        surface, context = "search", rng.choice([*SEARCHES, gig.category.replace("-", " ")])
    elif where < 0.85:
        surface, context = "category", gig.category
    elif where < 0.95:
        surface, context = "homepage", None
    else:
        surface, context = "user_page", gig.seller
    imp = new_id("i")
    served: dict[str, Any] = {"id": new_id("s"), "type": "served", "gig": gig.gig_id,
                              "seller": gig.seller, "imp": imp, "surface": surface,
                              "position": rng.randint(1, 48), "ts": ts}
    if context is not None:
        served["context"] = context
    base_ctr = ctr[gig.gig_id]
    if gig.gig_id in EXPERIMENTS:
        served["variant"] = rng.choice(EXPERIMENTS[gig.gig_id])
        base_ctr = VARIANT_CTR[gig.gig_id][served["variant"]]
    clicked = base_ctr * device[2]
    yield served
    seen = min(0.95, viewability[gig.gig_id] * device[1])
    if rng.random() < seen:
        yield {"id": new_id("w"), "type": "viewable", "gig": gig.gig_id, "imp": imp,
               "ts": ts + rng.randint(1_000, 20_000)}
        if rng.random() < clicked / seen:
            click_ts = ts + rng.randint(2_000, 40_000)
            yield {"id": new_id("c"), "type": "click", "gig": gig.gig_id, "imp": imp,
                   "surface": surface, "ts": click_ts}
            if rng.random() < ORDER_AFTER_CLICK:
                yield _order(rng, gig, imp, click_ts + rng.randint(60_000, 3_600_000), new_id)


async def fill_demo_store(
    store: Store, settings: Settings, now: int, days: int = DAYS
) -> int | None:
    """Fill an empty embedded store with demo traffic; how many events, or None when the
    store is not one to fill (demo off, MongoDB, or any data already there)."""
    if not settings.demo or not settings.database_url.startswith("sqlite:"):
        return None
    if await store.gigs_of_sellers(None):
        return None
    # One device per batch, as one browser's beacon has; an impression's events keep their
    # order within its device's stream.
    by_device: dict[Device, list[dict[str, Any]]] = {}
    for device, event in demo_traffic(now, days):
        by_device.setdefault(device, []).append(event)
    batches = [
        (device, events[i : i + MAX_EVENTS_PER_BATCH])
        for device, events in by_device.items()
        for i in range(0, len(events), MAX_EVENTS_PER_BATCH)
    ]
    accepted = 0
    # Several batches at once share the SQLite writer's group commits.
    for i in range(0, len(batches), PARALLEL_BATCHES):
        found = await asyncio.gather(
            *(_record(store, device, b, now, days)
              for device, b in batches[i : i + PARALLEL_BATCHES])
        )
        accepted += sum(found)
    return accepted


async def _record(
    store: Store, device: Device, batch: list[dict[str, Any]], now: int, days: int
) -> int:
    # Older than raw retention on purpose: the next purge keeps only their rollups, as it
    # would for real traffic of that age.
    parsed = parse_events(batch, sent_at=None, received=now, oldest_days=days + 1, device=device)
    receipt = await record(store, parsed)
    return receipt.accepted



