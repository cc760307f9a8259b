"""The store contract for orders, revenue, variants and devices, on every store (SQLite
thread and process, MongoDB on a real wire server): exact under duplicates and retries."""

from __future__ import annotations

import asyncio

from server.counting.splits import CURRENCY, DEVICE, OTHER_VARIANT, VARIANT, VARIANTS_PER_DAY
from server.model import DAY_MS, Device, EventType, Surface
from server.stores import IngestResult, Store

from .store_events import FAR, T0, B, click, event, served, viewable

SEARCH, CATEGORY, OTHER = Surface.SEARCH, Surface.CATEGORY, Surface.OTHER


def order(order_id: str, imp: str | None = None, **fields: object) -> object:
    return event(EventType.ORDER, id=order_id, imp=imp, **fields)


async def orders_by_surface(store: Store, gig: str = "g-1") -> dict[tuple[int, Surface], int]:
    """Orders per (bucket, surface), read through one-bucket spans (edges on the grid)."""
    edges = list(range(T0 - 4 * B, T0 + 40 * B, B))
    found = {}
    for row in await store.span_totals([gig], edges):
        if row.counts.orders:
            found[(row.bucket, row.surface)] = row.counts.orders
    return found


async def splits(store: Store, kind: str, gig: str = "g-1") -> dict[str, tuple[int, ...]]:
    """A kind's split rows over everything: key -> (served, viewable, clicks, orders, amount)."""
    found = {}
    for row in await store.split_totals([gig], [0, FAR]):
        if row.kind == kind and not row.tally.is_zero():  # a moved count may leave zeros
            t = row.tally
            found[row.key] = (t.served, t.viewable, t.clicks, t.orders, t.amount)
    return found


async def test_an_order_counts_in_its_impressions_bucket_surface_and_context(
    store: Store,
) -> None:
    await store.ingest([served("i-1", surface=CATEGORY, context="logos", ts=T0 + 1)])
    await store.ingest([order("ord-0001", "i-1", ts=T0 + 5 * B)])
    assert await orders_by_surface(store) == {(T0, CATEGORY): 1}
    [ctx] = await store.context_totals(["g-1"], 0, FAR)
    assert (ctx.context, ctx.counts.served, ctx.counts.viewable, ctx.counts.orders) == (
        "logos", 1, 0, 1
    )


async def test_an_order_without_a_known_impression_counts_for_the_gig_under_other(
    store: Store,
) -> None:
    await store.ingest([order("ord-0001", ts=T0 + 3 * B + 7),
                        order("ord-0002", "never-shown", ts=T0 + 3 * B)])
    assert await orders_by_surface(store) == {(T0 + 3 * B, OTHER): 2}
    assert await store.context_totals(["g-1"], 0, FAR) == []
    assert [r.counts.served for r in await store.surface_totals(["g-1"], 0, FAR)] == [0]


async def test_the_same_order_id_twice_counts_once_page_then_backend(store: Store) -> None:
    await store.ingest([served("i-1", device=Device.MOBILE)])
    page = order("ord-0001", "i-1", ts=T0 + 2 * B, value=25.5, currency="USD",
                 device=Device.MOBILE)
    # The backend reports the same order (recordEvents: no imp, no device).
    backend = order("ord-0001", ts=T0 + 2 * B + 9, value=25.5, currency="USD")
    assert await store.ingest([page]) == IngestResult(accepted=1, duplicates=0)
    assert await store.ingest([backend]) == IngestResult(accepted=0, duplicates=1)
    assert await store.ingest([page, backend]) == IngestResult(accepted=0, duplicates=2)
    assert await orders_by_surface(store) == {(T0, SEARCH): 1}
    assert await splits(store, CURRENCY) == {"USD": (0, 0, 0, 1, 25_500)}
    assert await splits(store, DEVICE) == {"mobile": (1, 0, 0, 1, 0)}


async def test_orders_retried_concurrently_count_once(store: Store) -> None:
    await store.ingest([served("i-1")])
    batch = [order(f"ord-{n:04d}", "i-1", value=1.001, currency="EUR") for n in range(5)]
    results = await asyncio.gather(*(store.ingest(batch) for _ in range(4)))
    assert sum(r.accepted for r in results) == 5
    assert await splits(store, CURRENCY) == {"EUR": (0, 0, 0, 5, 5_005)}
    assert await orders_by_surface(store) == {(T0, SEARCH): 5}


async def test_revenue_is_kept_per_currency_exactly(store: Store) -> None:
    await store.ingest([order(f"usd-{n:04d}", value=0.1, currency="USD") for n in range(10)])
    await store.ingest([order("jpy-0001", value=10**12, currency="JPY"),
                        order("none-001")])
    assert await splits(store, CURRENCY) == {
        "USD": (0, 0, 0, 10, 1_000), "JPY": (0, 0, 0, 1, 10**15),
    }


async def test_variants_and_devices_follow_the_served_event_under_retries(store: Store) -> None:
    first = [
        viewable("i-1", device=Device.TABLET),  # overtook its served
        served("i-2", variant="B", device=Device.DESKTOP),
        click("i-2", ts=T0 + 1_000, device=Device.DESKTOP),
    ]
    second = [
        served("i-1", variant="A", device=Device.MOBILE),
        order("ord-0001", "i-1"),
        served("i-3"),
    ]
    for batch in (first, second, first, second):  # each retried once
        await store.ingest(batch)
    assert await splits(store, VARIANT) == {
        "A": (1, 1, 0, 1, 0), "B": (1, 1, 1, 0, 0),
    }
    assert await splits(store, DEVICE) == {
        "mobile": (1, 1, 0, 1, 0), "desktop": (1, 1, 1, 0, 0), "other": (1, 0, 0, 0, 0),
    }


async def test_split_totals_sum_each_span(store: Store) -> None:
    await store.ingest([served("i-1", variant="A"), served("i-2", variant="A", ts=T0 + DAY_MS),
                        served("i-3", variant="B", ts=T0 + DAY_MS + B)])
    rows = {(r.start, r.key): r.tally.served
            for r in await store.split_totals(["g-1"], [T0, T0 + DAY_MS, T0 + 2 * DAY_MS])
            if r.kind == VARIANT}
    assert rows == {(T0, "A"): 1, (T0 + DAY_MS, "A"): 1, (T0 + DAY_MS, "B"): 1}


async def test_variants_past_the_daily_cap_are_summed_as_other(store: Store) -> None:
    day = T0 - T0 % DAY_MS
    names = [f"v{n:02d}" for n in range(VARIANTS_PER_DAY + 3)]
    for n, name in enumerate(names):  # one batch each: the cap holds across batches
        await store.ingest([served(f"i-{n}", variant=name, ts=day + n)])
    await store.ingest([served("late", variant="v00", ts=day + B)])  # kept ones stay kept
    found = await splits(store, VARIANT)
    assert set(found) == {*names[:VARIANTS_PER_DAY], OTHER_VARIANT}
    assert found[OTHER_VARIANT][0] == 3
    assert found["v00"][0] == 2
    # The next UTC day has room again.
    await store.ingest([served("next", variant=names[-1], ts=day + DAY_MS)])
    assert (await splits(store, VARIANT))[names[-1]][0] == 1


async def test_purge_and_deletion_drop_split_rows(store: Store) -> None:
    await store.ingest([served("i-1", variant="A", ts=T0),
                        served("i-2", variant="A", ts=T0 + 2 * DAY_MS)])
    await store.purge(raw_before=T0 + DAY_MS, buckets_before=T0 + DAY_MS)
    assert await splits(store, VARIANT) == {"A": (1, 0, 0, 0, 0)}
    deleted = await store.delete_data(["g-1"])
    assert deleted.split_rollups >= 2 and deleted.variant_days >= 1
    assert await store.split_totals(["g-1"], [0, FAR]) == []
