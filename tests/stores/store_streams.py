"""Random event streams, and a reference count written straight from the SPEC's rules.

The reference does not use `transitions` to count: exactly once per impression, the first
event naming an impression gives its bucket and surface. Only which surface a first click is
filed under is asked of the core (`click_row_surface`).
"""

from __future__ import annotations

import random

from server.events import Event, EventType, Surface
from server.transitions import bucket_of

from .store_events import T0, B, click, click_row_surface, served, view, viewable

Key = tuple[str, int, Surface]
GIGS = ("g-1", "g-2", "g-3")


def random_stream(rng: random.Random, size: int) -> list[Event]:
    impressions = [
        (rng.choice(GIGS), f"i-{n}", rng.choice(list(Surface)), rng.choice([None, 1, 2, 7]))
        for n in range(size // 4)
    ]
    stream = []
    for _ in range(size):
        gig, imp, surface, position = rng.choice(impressions)
        ts = T0 + rng.randrange(6 * B)
        automated = rng.random() < 0.08
        roll = rng.random()
        if roll < 0.35:
            e = served(imp, surface, gig=gig, ts=ts, position=position)
        elif roll < 0.55:
            e = viewable(imp, gig=gig, ts=ts, position=rng.choice([None, position]))
        elif roll < 0.7:
            # Mostly the listing's surface; sometimes another one.
            on = surface if rng.random() < 0.8 else rng.choice(list(Surface))
            e = click(imp, on, gig=gig, ts=ts)
        else:
            pv = rng.choice([None, "p-1", "p-2", "p-3", "p-4"])
            e = view(pv, gig=gig, ts=ts, surface=rng.choice([None, Surface.HOMEPAGE]))
        stream.append(e._replace(automated=automated))
    return stream


def reference_count(arrivals: list[Event]) -> dict[Key, list[int]]:
    """The SPEC's counting rules, applied to events in the order the store first got them."""
    out: dict[Key, list[int]] = {}
    ids: set[str] = set()
    impressions: dict[tuple[str, str], dict[str, object]] = {}
    page_views: set[tuple[str, str]] = set()

    def row(gig: str, bucket: int, surface: Surface) -> list[int]:
        return out.setdefault((gig, bucket, surface), [0] * 6)

    for e in arrivals:
        if e.id in ids:
            continue
        ids.add(e.id)
        if e.automated:
            continue
        if e.type is EventType.VIEW:
            if e.pv is not None and (e.gig, e.pv) in page_views:
                continue
            if e.pv is not None:
                page_views.add((e.gig, e.pv))
            row(e.gig, bucket_of(e.ts), e.surface or Surface.OTHER)[3] += 1
            continue
        assert e.imp is not None
        imp = impressions.get((e.gig, e.imp))
        if imp is None:  # any event naming an impression makes it served
            imp = {"bucket": bucket_of(e.ts), "surface": e.surface or Surface.OTHER}
            impressions[(e.gig, e.imp)] = imp
            row(e.gig, imp["bucket"], imp["surface"])[0] += 1  # type: ignore[arg-type]
        home = row(e.gig, imp["bucket"], imp["surface"])  # type: ignore[arg-type]
        if e.position is not None and "position" not in imp:
            imp["position"] = e.position
            home[4] += e.position
            home[5] += 1
        if e.type in (EventType.VIEWABLE, EventType.CLICK) and "viewable" not in imp:
            imp["viewable"] = True
            home[1] += 1
        if e.type is EventType.CLICK and "clicked" not in imp:
            imp["clicked"] = True
            on = click_row_surface(e, imp["surface"])  # type: ignore[arg-type]
            row(e.gig, imp["bucket"], on)[2] += 1  # type: ignore[arg-type]
    return {k: v for k, v in out.items() if any(v)}
