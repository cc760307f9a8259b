"""The store contract, run on every store (SQLite, and MongoDB on a real wire server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.counting.ownership import CLAIMS_PER_GIG, OTHER_SELLERS, Conflict
from server.errors import StoreUnavailable
from server.model import Counts, Rejection, Surface, Trust
from server.stores import (
    ApiKey,
    DeletedData,
    IngestResult,
    SQLiteStore,
    Store,
    StoredRejection,
)
from server.stores.base import InvalidRow

from .store_events import (
    FAR,
    T0,
    B,
    Row,
    click,
    click_row_surface,
    rows,
    served,
    total,
    view,
    viewable,
)

SEARCH, CATEGORY, HOMEPAGE = Surface.SEARCH, Surface.CATEGORY, Surface.HOMEPAGE
USER_PAGE, OTHER = Surface.USER_PAGE, Surface.OTHER


async def test_duplicate_event_id_counts_once(store: Store) -> None:
    first = served("i-1")
    assert await store.ingest([first]) == IngestResult(accepted=1, duplicates=0)
    assert await store.ingest([first]) == IngestResult(accepted=0, duplicates=1)
    twice = served("i-2")
    assert await store.ingest([twice, twice]) == IngestResult(accepted=1, duplicates=1)
    assert await rows(store) == {("g-1", T0, SEARCH): (2, 0, 0, 0, 0, 0)}


async def test_same_batch_posted_concurrently_counts_once(store: Store) -> None:
    batch = [
        served("i-1", position=1),
        served("i-2", position=2),
        viewable("i-1", ts=T0 + 1_000),
        viewable("i-2", ts=T0 + 1_000),
        click("i-1", ts=T0 + 2_000),
        view("p-1", ts=T0 + 3_000),
        view("p-1", ts=T0 + 3_500),
        view(None, ts=T0 + 4_000),
    ]
    results = await asyncio.gather(*(store.ingest(batch) for _ in range(10)))
    assert sum(r.accepted for r in results) == len(batch)
    assert sum(r.duplicates for r in results) == 9 * len(batch)
    assert await rows(store) == {
        ("g-1", T0, SEARCH): (2, 2, 1, 0, 3, 2),
        ("g-1", T0, OTHER): (0, 0, 0, 2, 0, 0),
    }


async def test_overlapping_batches_from_two_connections_count_once(
    store_factory: Callable[[], Store],
) -> None:
    one, two = store_factory(), store_factory()
    await one.open()
    await two.open()
    try:
        events = [served(f"i-{n}") for n in range(6)] + [click(f"i-{n}") for n in range(6)]
        await asyncio.gather(
            *(s.ingest(events[k : k + 5]) for s in (one, two, one, two) for k in range(0, 12, 3))
        )
        assert await rows(one) == {("g-1", T0, SEARCH): (6, 6, 6, 0, 0, 0)}
    finally:
        await one.close()
        await two.close()


async def test_clicked_impression_counts_as_viewable(store: Store) -> None:
    await store.ingest([served("i-1"), click("i-1", ts=T0 + 5_000)])
    assert await rows(store) == {("g-1", T0, SEARCH): (1, 1, 1, 0, 0, 0)}


async def test_a_viewable_before_its_served_moves_to_the_served_surface(store: Store) -> None:
    await store.ingest([viewable("i-1")])
    assert await rows(store) == {("g-1", T0, OTHER): (1, 1, 0, 0, 0, 0)}
    # The served event, late, names the listing: the impression moves there, counted once.
    await store.ingest([served("i-1", surface=CATEGORY, position=3, ts=T0 + 2 * B)])
    assert await rows(store) == {("g-1", T0, CATEGORY): (1, 1, 0, 0, 3, 1)}
    await store.ingest([click("i-1", surface=SEARCH, ts=T0 + 3 * B)])
    assert await rows(store) == {("g-1", T0, CATEGORY): (1, 1, 1, 0, 3, 1)}


async def test_impression_seen_only_in_click_still_counts_as_served(store: Store) -> None:
    await store.ingest([click("i-1", surface=CATEGORY), viewable("i-2", ts=T0 + B)])
    assert await rows(store) == {
        ("g-1", T0, CATEGORY): (1, 1, 1, 0, 0, 0),
        ("g-1", T0 + B, OTHER): (1, 1, 0, 0, 0, 0),
    }
    # A served event that arrives late changes nothing: the impression is already counted.
    await store.ingest([served("i-1", surface=CATEGORY, position=4)])
    assert await rows(store) == {
        ("g-1", T0, CATEGORY): (1, 1, 1, 0, 4, 1),
        ("g-1", T0 + B, OTHER): (1, 1, 0, 0, 0, 0),
    }


async def test_viewable_at_most_once_per_impression(store: Store) -> None:
    await store.ingest([served("i-1"), viewable("i-1"), viewable("i-1"), click("i-1")])
    await store.ingest([viewable("i-1", ts=T0 + 2 * B), click("i-1", ts=T0 + 3 * B)])
    # Every count of an impression stays in the bucket that first named it.
    assert await rows(store) == {("g-1", T0, SEARCH): (1, 1, 1, 0, 0, 0)}


async def test_click_on_user_page_recorded_but_not_click_surface(store: Store) -> None:
    odd_click = click("i-2", surface=HOMEPAGE)  # on a tile shown in search
    await store.ingest(
        [
            served("i-1", surface=USER_PAGE),
            click("i-1", surface=USER_PAGE),
            served("i-2", surface=SEARCH),
            odd_click,
        ]
    )
    # Stores keep every click under a surface; metrics decides which are `clicks`.
    expected: dict[Row, list[int]] = {
        ("g-1", T0, USER_PAGE): [1, 1, 1, 0, 0, 0],
        ("g-1", T0, SEARCH): [1, 1, 0, 0, 0, 0],
    }
    expected.setdefault(("g-1", T0, click_row_surface(odd_click, SEARCH)), [0] * 6)[2] += 1
    assert await rows(store) == {key: tuple(values) for key, values in expected.items()}


async def test_view_counted_once_per_page_view(store: Store) -> None:
    await store.ingest([view("p-1"), view("p-1", ts=T0 + B), view("p-2", surface=HOMEPAGE)])
    await store.ingest([view("p-1"), view(None), view(None), view("p-1", gig="g-2")])
    assert await rows(store, ("g-1", "g-2")) == {
        ("g-1", T0, OTHER): (0, 0, 0, 3, 0, 0),
        ("g-1", T0, HOMEPAGE): (0, 0, 0, 1, 0, 0),
        ("g-2", T0, OTHER): (0, 0, 0, 1, 0, 0),
    }


async def test_automated_events_stored_not_counted(store: Store) -> None:
    bots = [served("i-1", automated=True), click("i-1", automated=True)]
    bots.append(view("p-1", automated=True))
    assert await store.ingest(bots) == IngestResult(accepted=3, duplicates=0, invalid=3)
    assert await store.ingest(bots) == IngestResult(accepted=0, duplicates=3)
    assert await rows(store) == {}
    # The bot's impression and page view were never opened: real events still count.
    await store.ingest([viewable("i-1", ts=T0 + B), view("p-1")])
    assert await rows(store) == {
        ("g-1", T0 + B, OTHER): (1, 1, 0, 0, 0, 0),
        ("g-1", T0, OTHER): (0, 0, 0, 1, 0, 0),
    }


async def test_average_position_uses_first_position_of_each_impression(store: Store) -> None:
    await store.ingest([served("i-1", position=3), served("i-2"), served("i-3", position=9)])
    await store.ingest([viewable("i-1", position=7), viewable("i-2", position=5)])
    assert await rows(store) == {("g-1", T0, SEARCH): (3, 2, 0, 0, 17, 3)}


async def test_rollups_window_is_half_open(store: Store) -> None:
    await store.ingest(
        [served("i-0", ts=T0 + 1), served("i-1", ts=T0 + B), served("i-2", ts=T0 + 2 * B - 1)]
    )
    await store.ingest([served("i-3", ts=T0 + 2 * B), served("i-4", ts=T0 + 3 * B)])
    window = await rows(store, start=T0 + B, end=T0 + 3 * B)
    assert window == {
        ("g-1", T0 + B, SEARCH): (2, 0, 0, 0, 0, 0),
        ("g-1", T0 + 2 * B, SEARCH): (1, 0, 0, 0, 0, 0),
    }
    [whole] = await store.surface_totals(["g-1"], T0 + B, T0 + 3 * B)
    assert (whole.bucket, whole.surface, whole.counts.served) == (T0 + B, SEARCH, 3)
    assert await store.surface_totals(["g-1"], T0 + B, T0 + B) == []
    assert await store.span_totals(["g-1"], [T0 + B, T0 + B]) == []
    assert await store.span_totals([], [0, T0 + 9 * B]) == []


async def test_span_totals_sum_each_span_gig_and_surface(store: Store) -> None:
    await store.ingest(
        [
            served("i-0", ts=T0 - B),  # before the first span
            served("i-1", position=2),
            served("i-2", ts=T0 + B, position=4),
            click("i-2", ts=T0 + B),
            served("i-3", surface=CATEGORY, ts=T0 + 2 * B),
            served("i-4", ts=T0 + 3 * B),
            served("i-5", ts=T0 + 4 * B),  # at the last edge: outside
            served("i-6", gig="g-2", surface=HOMEPAGE, ts=T0 + 3 * B),
            view("p-1", gig="g-2", ts=T0 + B),
            served("i-7", gig="g-3"),  # not asked for
        ]
    )
    edges = [T0, T0 + 2 * B, T0 + 4 * B]  # spans [T0, T0+2B) and [T0+2B, T0+4B)
    found = await store.span_totals(["g-1", "g-2"], edges)
    got = {
        (r.gig, r.bucket, r.surface): (r.counts.served, r.counts.clicks, r.counts.views,
                                        r.counts.position_sum)
        for r in found
    }
    assert len(found) == len(got)
    assert got == {
        ("g-1", T0, SEARCH): (2, 1, 0, 6),
        ("g-1", T0 + 2 * B, CATEGORY): (1, 0, 0, 0),
        ("g-1", T0 + 2 * B, SEARCH): (1, 0, 0, 0),
        ("g-2", T0, OTHER): (0, 0, 1, 0),
        ("g-2", T0 + 2 * B, HOMEPAGE): (1, 0, 0, 0),
    }
    assert await store.span_totals(["g-1"], [T0]) == []
    assert await store.span_totals(["g-none"], edges) == []


async def test_every_gigs_totals_are_read_without_a_list_of_them(store: Store) -> None:
    await store.ingest([
        served("i-1"), click("i-1"), served("i-2", gig="g-2", surface=HOMEPAGE),
        click("i-2", gig="g-2", surface=HOMEPAGE), served("i-3", gig="g-3", ts=T0 + 9 * B),
    ])
    clicking = frozenset({SEARCH, CATEGORY})
    every = await store.gig_totals(None, T0, T0 + 5 * B, clicking)
    assert every == await store.gig_totals(["g-1", "g-2", "g-3"], T0, T0 + 5 * B, clicking)
    assert {gig: (m.served, m.clicks) for gig, m in every.items()} == {
        "g-1": (1, 1), "g-2": (1, 0),  # a homepage click is not one of `clicks`; g-3 is later
    }


async def test_surface_totals_group_by_gig_and_surface(store: Store) -> None:
    await store.ingest(
        [
            served("i-1", position=2),
            served("i-2", ts=T0 + B, position=4),
            click("i-2", ts=T0 + B),
            served("i-3", surface=CATEGORY, ts=T0 + 2 * B),
            served("i-4", ts=T0 + 5 * B),  # outside the window
            served("i-5", gig="g-2", surface=HOMEPAGE),
            view("p-1", gig="g-2", ts=T0 + B),
            served("i-6", gig="g-3"),  # not asked for
        ]
    )
    found = await store.surface_totals(["g-1", "g-2"], T0, T0 + 5 * B)
    got = {
        (r.gig, r.surface): (r.bucket, r.counts.served, r.counts.clicks, r.counts.views)
        for r in found
    }
    assert len(found) == len(got)
    assert got == {
        ("g-1", SEARCH): (T0, 2, 1, 0),
        ("g-1", CATEGORY): (T0, 1, 0, 0),
        ("g-2", HOMEPAGE): (T0, 1, 0, 0),
        ("g-2", OTHER): (T0, 0, 0, 1),
    }
    search = next(r for r in found if (r.gig, r.surface) == ("g-1", SEARCH))
    assert search.counts == Counts(served=2, viewable=1, clicks=1, position_sum=6, position_count=2)


async def test_gigs_of_sellers_and_seller_of(store: Store) -> None:
    await store.ingest(
        [
            served("i-1", gig="g-1", seller="s-1"),
            served("i-2", gig="g-2", seller="s-2"),
            served("i-3", gig="g-3"),
            served("i-4", gig="g-4", seller="s-1", ts=T0),
            # An anonymous beacon never moves an owner, newer or not.
            view("p-1", gig="g-4", seller="s-3", ts=T0 + 60_000),
        ]
    )
    await store.ingest(
        [served("i-5", gig="g-4", seller="s-9", ts=T0 + 1), served("i-6", gig="g-1")]
    )
    # A gig nobody owns takes the first seller a beacon names; later ones are claims only.
    await store.ingest([view("p-2", gig="g-5", ts=T0 + 10)])
    await store.ingest([view("p-3", gig="g-5", seller="s-5", ts=T0 + 5)])
    await store.ingest([view("p-4", gig="g-5", seller="s-6", ts=T0 + 7)])
    assert await store.gigs_of_sellers(["s-1"]) == ["g-1", "g-4"]
    assert await store.gigs_of_sellers(["s-3", "s-2"]) == ["g-2"]
    assert await store.gigs_of_sellers([]) == []
    assert await store.gigs_of_sellers(None) == ["g-1", "g-2", "g-3", "g-4", "g-5"]
    assert await store.seller_of(["g-1", "g-3", "g-4", "g-5", "g-unknown"]) == {
        "g-1": "s-1",
        "g-4": "s-1",
        "g-5": "s-5",
    }


async def test_an_anonymous_beacon_never_hands_a_gig_to_another_seller(store: Store) -> None:
    await store.ingest([served("i-1", gig="g-bob", seller="bob", ts=T0)])
    await store.ingest([view("p-1", gig="g-bob", seller="alice", ts=T0 + B)])
    await store.ingest([view("p-2", gig="g-bob", seller="alice", ts=T0 + 2 * B)])
    assert await store.seller_of(["g-bob"]) == {"g-bob": "bob"}
    assert await store.gigs_of_sellers(["alice"]) == []
    # The conflicting claim is kept for the admin to see, not applied.
    assert await store.gig_claims(10) == [Conflict("g-bob", "alice", T0 + B, T0 + 2 * B, 2)]


async def test_claims_are_kept_for_at_most_claims_per_gig_sellers_then_summed(
    store: Store,
) -> None:
    await store.ingest([served("i-0", gig="g-bob", seller="bob", ts=T0)])
    # Anyone can name any seller: a flood of names keeps a bounded set of rows per gig.
    names = [f"s-{n:03d}" for n in range(CLAIMS_PER_GIG + 15)]
    for start in range(0, len(names), 10):  # several batches, like several beacons
        await store.ingest([
            view(f"p-{n}", gig="g-bob", seller=name, ts=T0 + n)
            for n, name in enumerate(names[start:start + 10], start)
        ])
    await store.ingest([view("p-again", gig="g-bob", seller="s-000", ts=T0 + 500)])
    claims = {c.seller: c for c in await store.gig_claims(100)}
    assert set(claims) == {*names[:CLAIMS_PER_GIG], OTHER_SELLERS}
    assert claims["s-000"] == Conflict("g-bob", "s-000", T0, T0 + 500, 2)
    assert claims[OTHER_SELLERS] == Conflict(
        "g-bob", OTHER_SELLERS, T0 + CLAIMS_PER_GIG, T0 + len(names) - 1, 15
    )
    assert await store.seller_of(["g-bob"]) == {"g-bob": "bob"}


async def test_trusted_sources_set_and_move_owners(store: Store) -> None:
    await store.ingest([served("i-1", gig="g-1", seller="bob", ts=T0)])
    # A signed listing (or the admin key's recordEvents) moves it; an older claim does not.
    await store.ingest([served("i-2", gig="g-1", seller="alice", ts=T0 + B, trust=Trust.MOVE)])
    await store.ingest([served("i-3", gig="g-1", seller="carol", ts=T0 + 1, trust=Trust.MOVE)])
    assert await store.seller_of(["g-1"]) == {"g-1": "alice"}
    # With signing on, an unsigned beacon cannot even name the first owner.
    await store.ingest([served("i-4", gig="g-2", seller="mallory", trust=Trust.CLAIM)])
    assert await store.seller_of(["g-2"]) == {}
    # The admin's word always applies.
    await store.set_owner("g-2", "dave", T0)
    await store.set_owner("g-1", "bob", T0 + 3 * B)
    assert await store.seller_of(["g-1", "g-2"]) == {"g-1": "bob", "g-2": "dave"}
    assert await store.gigs_of_sellers(["bob", "dave"]) == ["g-1", "g-2"]


async def test_invalid_traffic_is_stored_never_counted_and_summed_per_reason(
    store: Store,
) -> None:
    result = await store.ingest(
        [
            served("i-1", invalid="crawler"),
            served("i-2", invalid="crawler", ts=T0 + B),
            click("i-2", invalid="over_rate", ts=T0 + B),
            served("i-3", gig="g-2", invalid="unsigned"),
            served("i-4"),
        ]
    )
    assert result == IngestResult(accepted=5, duplicates=0, invalid=4)
    assert await rows(store) == {("g-1", T0, SEARCH): (1, 0, 0, 0, 0, 0)}
    assert await store.invalid_totals(["g-1", "g-2"], T0, T0 + 2 * B) == [
        InvalidRow("g-1", "crawler", 2),
        InvalidRow("g-1", "over_rate", 1),
        InvalidRow("g-2", "unsigned", 1),
    ]
    assert await store.invalid_totals(["g-1"], T0 + B, T0 + 2 * B) == [
        InvalidRow("g-1", "crawler", 1),
        InvalidRow("g-1", "over_rate", 1),
    ]


async def test_a_signed_tile_backs_one_impression_each_type_once(store: Store) -> None:
    tile = {"render": "nonce1.3", "trust": Trust.MOVE}
    await store.ingest([served("i-1", **tile), viewable("i-1", **tile)])
    # The same signed tile replayed under fresh impression ids counts nothing.
    replayed = await store.ingest([served("i-2", **tile), click("i-2", **tile, ts=T0 + 1)])
    # Judged in the store's transaction, and reported like the edge's verdicts.
    assert replayed == IngestResult(accepted=2, duplicates=0, invalid=2)
    await store.ingest([click("i-1", **tile, ts=T0 + 2)])
    page = {"render": "nonce2.0", "trust": Trust.MOVE}
    assert await store.ingest([view("p-1", **page), view("p-2", **page)]) == IngestResult(2, 0, 1)
    assert await rows(store) == {
        ("g-1", T0, SEARCH): (1, 1, 1, 0, 0, 0),
        ("g-1", T0, OTHER): (0, 0, 0, 1, 0, 0),
    }
    assert await store.invalid_totals(["g-1"], T0, T0 + B) == [InvalidRow("g-1", "replayed", 3)]


async def test_a_quick_click_nothing_showed_is_invalid(store: Store) -> None:
    await store.ingest([click("i-1", quick=True), served("i-2"), click("i-2", quick=True)])
    # A click nothing showed is still counted when it is not implausibly quick.
    await store.ingest([click("i-3")])
    assert await rows(store) == {("g-1", T0, SEARCH): (2, 2, 2, 0, 0, 0)}
    assert await store.invalid_totals(["g-1"], T0, T0 + B) == [
        InvalidRow("g-1", "click_unshown", 1)
    ]


async def test_rejections_kept_with_reason(store: Store) -> None:
    first = [Rejection(0, "type: 'x' is not one of ...", '{"type": "x"}', T0)]
    first.append(Rejection(2, "ts: required", '{"id": "abc"}', T0))
    assert await store.ingest([served("i-1")], first) == IngestResult(1, 0)
    assert await store.ingest([], [Rejection(1, "gig: required", "{}", T0 + 1_000)]) == (
        IngestResult(0, 0)
    )
    assert await store.rejections(10) == [
        StoredRejection(T0 + 1_000, 1, "gig: required", "{}"),
        StoredRejection(T0, 2, "ts: required", '{"id": "abc"}'),
        StoredRejection(T0, 0, "type: 'x' is not one of ...", '{"type": "x"}'),
    ]
    assert await store.rejections(1) == [StoredRejection(T0 + 1_000, 1, "gig: required", "{}")]
    assert await rows(store) == {("g-1", T0, SEARCH): (1, 0, 0, 0, 0, 0)}


async def test_purge_drops_old_raw_events_and_buckets(store: Store) -> None:
    old, new = served("i-1", ts=T0), served("i-2", ts=T0 + 10 * B)
    old_view = view("p-1", ts=T0 + 1)
    await store.ingest([old, new, old_view], [Rejection(0, "old", "{}", T0)])
    await store.ingest([], [Rejection(0, "new", "{}", T0 + 10 * B)])
    await store.purge(raw_before=T0 + 5 * B + 123, buckets_before=T0 + 1)
    assert await rows(store) == {("g-1", T0 + 10 * B, SEARCH): (1, 0, 0, 0, 0, 0)}
    assert [r.reason for r in await store.rejections(10)] == ["new"]
    # The old raw event, impression and page view are gone, so they are new again...
    assert await store.ingest([old, new, old_view]) == IngestResult(accepted=2, duplicates=1)
    assert await rows(store) == {
        ("g-1", T0, SEARCH): (1, 0, 0, 0, 0, 0),
        ("g-1", T0, OTHER): (0, 0, 0, 1, 0, 0),
        ("g-1", T0 + 10 * B, SEARCH): (1, 0, 0, 0, 0, 0),
    }
    # ...while a recent impression is still known.
    await store.ingest([viewable("i-2", ts=T0 + 11 * B)])
    assert await rows(store, start=T0 + B) == {("g-1", T0 + 10 * B, SEARCH): (1, 1, 0, 0, 0, 0)}


async def test_api_keys_save_lookup_and_revoke(store: Store) -> None:
    alice = ApiKey("k-1", "a" * 64, "alice shop", ("s-1", "s-2"), False, created=T0)
    admin = ApiKey("k-2", "b" * 64, "importer", (), True, created=T0 + 1)
    await store.save_key(admin)
    await store.save_key(alice)
    assert await store.keys() == [alice, admin]
    assert await store.key_by_hash("a" * 64) == alice
    assert await store.key_by_hash("c" * 64) is None
    assert await store.revoke_key("k-1", T0 + 5) is True
    assert await store.revoke_key("k-1", T0 + 9) is True
    assert await store.revoke_key("k-404", T0 + 5) is False
    revoked = await store.key_by_hash("a" * 64)
    assert revoked is not None and revoked.revoked == T0 + 5
    assert [k.revoked for k in await store.keys()] == [T0 + 5, None]


async def test_ping_and_close_twice(store: Store) -> None:
    assert await store.ping() is True
    await store.close()
    assert await store.ping() is False
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ingest([served("i-1")])


async def test_data_survives_close_and_reopen(store_factory: Callable[[], Store]) -> None:
    first = store_factory()
    await first.open()
    await first.ingest([served("i-1", seller="s-1"), viewable("i-1"), view("p-1")])
    await first.save_key(ApiKey("k-1", "a" * 64, "alice", ("s-1",), False, created=T0))
    await first.close()
    again = store_factory()
    await again.open()
    try:
        assert await again.ingest([click("i-1"), view("p-1")]) == IngestResult(2, 0)
        assert await total(again) == Counts(served=1, viewable=1, clicks=1, views=1)
        assert await again.seller_of(["g-1"]) == {"g-1": "s-1"}
        assert [k.key_id for k in await again.keys()] == ["k-1"]
    finally:
        await again.close()


# -- context rollups (byContext) and sellers -------------------------------------------------


async def contexts(store: Store, gig: str = "g-1") -> dict[tuple[Surface, str], tuple[int, ...]]:
    found: dict[tuple[Surface, str], tuple[int, ...]] = {}
    for row in await store.context_totals([gig], T0, T0 + 200 * B):
        c = row.counts
        if c.served or c.viewable or c.clicks or c.position_count:
            assert (row.surface, row.context) not in found, "one row per key"
            found[(row.surface, row.context)] = (
                c.served, c.viewable, c.clicks, c.position_sum, c.position_count
            )
    return found


async def test_context_rollups_count_each_impression_under_its_listings_context(
    store: Store, request: pytest.FixtureRequest
) -> None:
    await store.ingest([
        served("i-1", context="logo design", position=1),
        served("i-2", context="logo design", position=3, ts=T0 + B),
        served("i-3", surface=CATEGORY, context="logo-design", position=2),
        served("i-4", surface=HOMEPAGE),
        viewable("i-1", ts=T0 + 1_000),
        click("i-1", ts=T0 + 2_000),
        click("i-3", surface=CATEGORY, ts=T0 + 3 * B),
    ])
    # A viewable that overtook its served joins the context once the served names it.
    await store.ingest([viewable("i-5", ts=T0 + 2 * B)])
    await store.ingest([served("i-5", context="logo design", ts=T0 + 2 * B + 1)])
    await store.ingest([served("i-1", context="logo design")])  # a duplicate transition
    assert await contexts(store) == {
        (SEARCH, "logo design"): (3, 2, 1, 4, 2),
        (CATEGORY, "logo-design"): (1, 1, 1, 2, 1),
    }
    assert await store.context_totals(["g-1"], T0 + B, T0 + 2 * B) != []
    assert await store.context_totals(["g-other"], T0, T0 + 200 * B) == []


async def test_contexts_past_the_daily_bound_are_summed_as_one_other_row(
    store: Store, request: pytest.FixtureRequest
) -> None:
    from server.counting.rules import CONTEXTS_PER_DAY, OTHER_CONTEXT

    events = [served(f"i-{n}", context=f"query {n:03d}") for n in range(CONTEXTS_PER_DAY + 5)]
    for start in range(0, len(events), 50):
        await store.ingest(events[start : start + 50])
    found = await contexts(store)
    assert len(found) == CONTEXTS_PER_DAY + 1
    assert found[(SEARCH, OTHER_CONTEXT)] == (5, 0, 0, 0, 0)
    assert sum(v[0] for v in found.values()) == CONTEXTS_PER_DAY + 5


async def test_sellers_lists_every_known_seller_once(store: Store) -> None:
    await store.ingest([
        served("i-1", seller="bob"),
        served("i-2", gig="g-2", seller="alice"),
        served("i-3", gig="g-3", seller="alice"),
        served("i-4", gig="g-4"),
    ])
    assert await store.sellers() == ["alice", "bob"]


async def test_api_key_expiry_and_last_use_are_kept(store: Store) -> None:
    key = ApiKey("k-1", "a" * 64, "alice", ("s-1",), False, created=T0, expires=T0 + 90 * B)
    await store.save_key(key)
    assert await store.key_by_hash("a" * 64) == key
    await store.touch_key("k-1", T0 + 10)
    await store.touch_key("k-1", T0 + 5)  # an older use (another process) never moves it back
    await store.touch_key("k-404", T0 + 20)  # an unknown key is no error
    [kept] = await store.keys()
    assert (kept.expires, kept.last_used) == (T0 + 90 * B, T0 + 10)


def _gig_batch(gig: str, seller: str) -> list[Any]:
    return [
        served(f"{gig}-i1", gig=gig, seller=seller, context="logo design", position=1),
        served(f"{gig}-i2", gig=gig, seller=seller, surface=CATEGORY, context="logos"),
        viewable(f"{gig}-i1", gig=gig, ts=T0 + 1_000),
        click(f"{gig}-i1", gig=gig, ts=T0 + 2_000),
        view(f"{gig}-p1", gig=gig, ts=T0 + B),
    ]


async def test_delete_data_removes_everything_of_a_gig_and_nothing_else(store: Store) -> None:
    gone, kept = _gig_batch("g-gone", "s-gone"), _gig_batch("g-kept", "s-kept")
    await store.ingest(
        [*gone, *kept],
        [
            Rejection(0, "ts: required", '{"id": "x1", "gig": "g-gone"}', T0),
            Rejection(1, "ts: required", '{"id": "x2", "gig": "g-kept"}', T0),
        ],
    )
    before_kept = await rows(store, ("g-kept",))

    deleted = await store.delete_data(["g-gone"])

    assert deleted == DeletedData(
        gigs=1, events=5, impressions=2, page_views=1, rollups=deleted.rollups,
        context_rollups=2, context_days=2, rejections=1, split_rollups=deleted.split_rollups,
    )
    assert deleted.rollups >= 3  # search, category and other rows (MongoDB may split slots)
    assert deleted.split_rollups >= 1  # the impressions' device row
    assert await store.split_totals(["g-gone"], [0, FAR]) == []
    assert await rows(store, ("g-gone",)) == {}
    assert await store.context_totals(["g-gone"], 0, T0 + 1_000 * B) == []
    assert await store.gigs_of_sellers(None) == ["g-kept"]
    assert await store.seller_of(["g-gone", "g-kept"]) == {"g-kept": "s-kept"}
    assert await store.sellers() == ["s-kept"]
    assert [r.raw for r in await store.rejections(10)] == ['{"id": "x2", "gig": "g-kept"}']
    assert await rows(store, ("g-kept",)) == before_kept
    assert len(await store.context_totals(["g-kept"], 0, T0 + 1_000 * B)) == 2

    # Idempotent: a second deletion finds nothing.
    assert await store.delete_data(["g-gone"]) == DeletedData()
    # The same events arriving later are new data: stored and counted again.
    assert await store.ingest(gone) == IngestResult(accepted=5, duplicates=0)
    assert (await total(store, "g-gone")).served == 2


async def test_delete_data_with_a_seller_also_drops_raw_events_naming_it(store: Store) -> None:
    await store.ingest([
        *_gig_batch("g-1", "s-1"),
        *_gig_batch("g-2", "s-1"),
        served("o-i1", gig="g-3", seller="s-1", ts=T0 - B),  # g-3 then moved to s-2
        served("o-i2", gig="g-3", seller="s-2"),
    ], [Rejection(0, "gig: required", '{"id": "x1", "seller": "s-1"}', T0)])

    deleted = await store.delete_data(["g-1", "g-2"], seller="s-1")

    assert (deleted.gigs, deleted.events, deleted.rejections) == (2, 11, 1)
    assert await store.gigs_of_sellers(None) == ["g-3"]
    assert (await total(store, "g-3")).served == 2  # its counts are s-2's now
    assert await store.delete_data([], seller="s-1") == DeletedData()


async def test_delete_data_also_drops_invalid_traffic_and_claims(store: Store) -> None:
    await store.ingest([
        served("i-1", gig="g-bob", seller="bob"),
        served("i-2", gig="g-bob", invalid="crawler"),
        served("i-3", gig="g-eve", seller="eve"),
        served("i-4", gig="g-eve", invalid="crawler"),
    ])
    await store.ingest([view("p-1", gig="g-bob", seller="alice", ts=T0 + B)])  # a claim
    await store.ingest([view("p-2", gig="g-eve", seller="alice", ts=T0 + B)])  # on eve's too
    assert len(await store.gig_claims(10)) == 2

    deleted = await store.delete_data(["g-bob"])

    assert (deleted.invalid_rollups, deleted.gig_claims) == (1, 1)
    assert await store.invalid_totals(["g-bob"], 0, FAR) == []
    assert await store.invalid_totals(["g-eve"], 0, FAR) == [InvalidRow("g-eve", "crawler", 1)]
    assert [(c.gig, c.seller) for c in await store.gig_claims(10)] == [("g-eve", "alice")]
    # Deleting a seller also drops the claims it made on other sellers' gigs.
    assert (await store.delete_data([], seller="alice")).gig_claims == 1
    assert await store.gig_claims(10) == []


async def _changed_within(feed: AsyncIterator[frozenset[str]], want: set[str]) -> set[str]:
    seen: set[str] = set()
    async with asyncio.timeout(5):
        while not want <= seen:
            seen |= await anext(feed)
    return seen


async def test_changes_name_the_gigs_each_commit_changed(
    store_factory: Callable[[], Store],
) -> None:
    watcher, writer = store_factory(), store_factory()
    await watcher.open()
    await writer.open()
    try:
        async with watcher.changes() as feed:
            # SQLite tells its own process; MongoDB every client of the database.
            source = watcher if isinstance(watcher, SQLiteStore) else writer
            await source.ingest([served("c-1", gig="g-a"), view("p-1", gig="g-b")])
            assert await _changed_within(feed, {"g-a", "g-b"}) <= {"g-a", "g-b"}
            await source.delete_data(["g-a"])
            assert "g-a" in await _changed_within(feed, {"g-a"})
    finally:
        await watcher.close()
        await writer.close()
