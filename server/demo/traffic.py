"""Generated traffic for the demo sellers, so a first `scripts/serve` opens a dashboard with
real-looking charts: the last 30 days and the 30 before them (for the change figures).

Only an empty embedded (SQLite) store with the demo on is filled, and only through the normal
ingest path (the same validation, dedupe and counting as `recordEvents` with the admin key).
Every generated event id starts with `demo-`: that marks the data as demo data.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from typing import Any

from ..edge.events import MAX_EVENTS_PER_BATCH
from ..service import MetricsService
from ..settings import Settings
from ..stores.base import Store
from . import SEARCHES, catalogue

DAY_MS = 86_400_000
DAYS = 60
ID_PREFIX = "demo-"
PARALLEL_BATCHES = 20


def demo_events(now: int, days: int = DAYS, seed: int = 8) -> Iterator[dict[str, Any]]:
    """Wire events (as `/collect` takes them) for every demo gig over the last `days` days:
    weekly rhythm, slow growth, popular and quiet gigs, 55-85 % viewability, 1-7 % CTR."""
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
            for _ in range(shown):
                ts = day_start + rng.randrange(DAY_MS)
                if ts >= now - 60_000:
                    continue
                yield from _impression(rng, gig, ts, ctr, viewability, new_id)
            for _ in range(rng.randint(0, 2)):
                ts = day_start + rng.randrange(DAY_MS)
                if ts < now - 60_000:
                    yield {"id": new_id("v"), "type": "view", "gig": gig.gig_id,
                           "seller": gig.seller, "pv": new_id("p"), "ts": ts}


def _impression(rng: random.Random, gig: Any, ts: int, ctr: dict[str, float],
                viewability: dict[str, float], new_id: Any) -> Iterator[dict[str, Any]]:
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
    yield served
    if rng.random() < viewability[gig.gig_id]:
        yield {"id": new_id("w"), "type": "viewable", "gig": gig.gig_id, "imp": imp,
               "ts": ts + rng.randint(1_000, 20_000)}
        if rng.random() < ctr[gig.gig_id] / viewability[gig.gig_id]:
            yield {"id": new_id("c"), "type": "click", "gig": gig.gig_id, "imp": imp,
                   "surface": surface, "ts": ts + rng.randint(2_000, 40_000)}


async def fill_demo_store(
    store: Store, settings: Settings, now: int, days: int = DAYS
) -> int | None:
    """Fill an empty embedded store with demo traffic; how many events, or None when the
    store is not one to fill (demo off, MongoDB, or any data already there)."""
    if not settings.demo or not settings.database_url.startswith("sqlite:"):
        return None
    if await store.gigs_of_sellers(None):
        return None
    service = MetricsService(store, settings, now)
    events = list(demo_events(now, days))
    batches = [
        events[i : i + MAX_EVENTS_PER_BATCH] for i in range(0, len(events), MAX_EVENTS_PER_BATCH)
    ]
    accepted = 0
    # Several batches at once share the SQLite writer's group commits.
    for i in range(0, len(batches), PARALLEL_BATCHES):
        found = await asyncio.gather(
            *(_record(service, b, days) for b in batches[i : i + PARALLEL_BATCHES])
        )
        accepted += sum(found)
    return accepted


async def _record(service: MetricsService, batch: list[dict[str, Any]], days: int) -> int:
    # Older than raw retention on purpose: the next purge keeps only their rollups, as it
    # would for real traffic of that age.
    receipt = await service.record(batch, sent_at=None, oldest_days=days + 1)
    return receipt.accepted



