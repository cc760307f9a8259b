"""Random event streams, and a reference count written straight from the SPEC's rules.

The reference does not use `counting.rules` to count: it first settles each impression (the
first event naming it gives its bucket; the first event naming a surface gives its surface,
`other` if none does), then files one served, viewable, click and position per impression.
"""

from __future__ import annotations

import random

from server.model import Event, EventType, Surface, bucket_of

from .store_events import T0, B, click, served, view, viewable

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
        imp = impressions.setdefault((e.gig, e.imp), {"bucket": bucket_of(e.ts)})
        if e.surface is not None:
            imp.setdefault("surface", e.surface)
        if e.position is not None:
            imp.setdefault("position", e.position)
        if e.type in (EventType.VIEWABLE, EventType.CLICK):
            imp["viewable"] = True
        if e.type is EventType.CLICK:
            imp["clicked"] = True
    for (gig, _), imp in impressions.items():
        home = row(gig, imp["bucket"], imp.get("surface", Surface.OTHER))  # type: ignore[arg-type]
        home[0] += 1
        home[1] += "viewable" in imp
        home[2] += "clicked" in imp
        if "position" in imp:
            home[4] += imp["position"]  # type: ignore[operator]
            home[5] += 1
    return {k: v for k, v in out.items() if any(v)}
