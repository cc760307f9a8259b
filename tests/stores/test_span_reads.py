"""The database-side sums (`span_totals`, `surface_totals`, `gig_totals`) equal the old
path, summing every 15-minute rollup row in Python, over random traffic, random time zones
and random windows, on every store. On SQLite they read hourly rollups plus quarter-hour
ends; on MongoDB they group on the server."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from server.counting.metrics import RollupRow, sum_spans, totals
from server.counting.windows import days_between, local_date, zone
from server.model import CLICK_SURFACES_DEFAULT, Counts, Event, Surface
from server.stores import Store

from .store_events import T0, B, click, rows, served, view, viewable

ZONES = ("UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/New_York", "Europe/London",
         "Australia/Lord_Howe", "Pacific/Chatham")
GIGS = ("g-1", "g-2", "g-3")
DAY = 86_400_000
# A fortnight that holds a DST change in New York, London and Lord Howe (late March / early
# April 2026): T0 is in November 2025, so jump ahead.
START = T0 + 128 * DAY


def traffic(rng: random.Random, n: int) -> list[Event]:
    events: list[Event] = []
    for i in range(n):
        gig = rng.choice(GIGS)
        ts = START + rng.randrange(14 * 96) * B + rng.randrange(B)
        surface = rng.choice(tuple(Surface))
        imp = f"i-{i}"
        events.append(served(imp, surface=surface, gig=gig, ts=ts, position=rng.randint(1, 9)))
        if rng.random() < 0.5:
            events.append(viewable(imp, gig=gig, ts=ts + 500))
        if rng.random() < 0.3:
            events.append(click(imp, surface=surface, gig=gig, ts=ts + 900))
        if rng.random() < 0.2:
            events.append(view(f"p-{i}", gig=gig, ts=ts))
    return events


def as_dict(found: list[RollupRow]) -> dict[tuple[str, int, Surface], tuple[int, ...]]:
    return {
        (r.gig, r.bucket, r.surface): (
            r.counts.served, r.counts.viewable, r.counts.clicks, r.counts.views,
            r.counts.position_sum, r.counts.position_count,
        )
        for r in found
        if not r.counts.is_zero()
    }


async def quarter_rows(
    store: Store, gigs: tuple[str, ...], start: int, end: int
) -> list[RollupRow]:
    """Every 15-minute row of the window, read as one-bucket spans (never hourly rows)."""
    found = await rows(store, gigs, start, end)
    return [RollupRow(gig, at, surface, Counts(*values))
            for (gig, at, surface), values in found.items()]


async def old_spans(store: Store, gigs: tuple[str, ...], edges: list[int]) -> list[RollupRow]:
    """The old read: every 15-minute row of the window, summed in Python."""
    return sum_spans(await quarter_rows(store, gigs, edges[0], edges[-1]), edges)


@pytest.mark.parametrize("seed", range(3))
async def test_span_sums_equal_summing_every_row(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(3):  # the same impressions again: later events update their rows
        await store.ingest(traffic(rng, 150))
    for _ in range(6):
        tz = zone(rng.choice(ZONES))
        first = local_date(START + rng.randrange(3 * DAY), tz)
        days = days_between(first, first + timedelta(days=rng.randint(1, 11)), tz)
        edges = [d.start for d in days] + [days[-1].end]
        gigs = tuple(rng.sample(GIGS, rng.randint(1, 3)))
        assert as_dict(await store.span_totals(gigs, edges)) == as_dict(
            await old_spans(store, gigs, edges)
        ), (tz, first)
        # A rolling window: starts on a bucket edge, ends at any instant.
        start = START + rng.randrange(5 * 96) * B
        end = start + rng.randrange(1, 10 * DAY)
        quarters = await quarter_rows(store, gigs, start, end)
        assert as_dict(await store.surface_totals(gigs, start, end)) == as_dict(
            sum_spans(quarters, [start, end])
        )
        expected = totals(quarters, CLICK_SURFACES_DEFAULT)
        found = await store.gig_totals(gigs, start, end, CLICK_SURFACES_DEFAULT)
        assert found == expected
        only_search = frozenset({Surface.SEARCH})
        assert await store.gig_totals(gigs, start, end, only_search) == totals(
            quarters, only_search
        )


async def test_gig_totals_leave_out_gigs_without_rows(store: Store) -> None:
    await store.ingest([served("i-1", gig="g-1", ts=START)])
    found = await store.gig_totals(["g-1", "g-none"], START, START + B, CLICK_SURFACES_DEFAULT)
    assert set(found) == {"g-1"} and found["g-1"].served == 1
    assert await store.gig_totals([], START, START + B, CLICK_SURFACES_DEFAULT) == {}


async def test_a_span_inside_one_hour_and_one_bucket(store: Store) -> None:
    await store.ingest([served("i-1", ts=START + 5), served("i-2", ts=START + B + 5)])
    one_bucket = await store.span_totals(["g-1"], [START, START + 1])
    assert as_dict(one_bucket) == {("g-1", START, Surface.SEARCH): (1, 0, 0, 0, 0, 0)}
    assert as_dict(await store.span_totals(["g-1"], [START + 1, START + B + 1])) == {
        ("g-1", START + 1, Surface.SEARCH): (1, 0, 0, 0, 0, 0)
    }


async def test_gig_totals_follow_ingests_deletions_and_purges(store: Store) -> None:
    """On SQLite the totals are kept between reads: they must never go stale."""
    rng = random.Random(9)
    await store.ingest(traffic(rng, 200))
    start, end = START + 3 * B, START + 10 * DAY

    async def fresh(end: int) -> dict[str, object]:
        return dict(totals(await quarter_rows(store, GIGS, start, end), CLICK_SURFACES_DEFAULT))

    async def ranked(end: int) -> dict[str, object]:
        return dict(await store.gig_totals(GIGS, start, end, CLICK_SURFACES_DEFAULT))

    assert await ranked(end) == await fresh(end)
    await store.ingest([served("late-1", gig="g-1", ts=START + 4 * DAY)])  # inside
    await store.ingest([served("late-2", gig="g-2", ts=end + B)])  # after the first end
    assert await ranked(end) == await fresh(end)
    assert await ranked(end + 2 * B) == await fresh(end + 2 * B)
    await store.delete_data(["g-3"])
    assert "g-3" not in await ranked(end + 2 * B)
    await store.purge(raw_before=START + 2 * DAY, buckets_before=START + 2 * DAY)
    assert await ranked(end + 2 * B) == await fresh(end + 2 * B)
