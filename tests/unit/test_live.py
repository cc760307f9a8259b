"""The live-update hub (`server/live.py`) with a store whose change feed the test drives."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.errors import TooManySubscriptions
from server.live import LiveUpdates


class FeedStore:
    """Only `changes()`: what the test puts in `feed` comes out; `fail` breaks the feed."""

    def __init__(self) -> None:
        self.feed: asyncio.Queue[Any] = asyncio.Queue()
        self.watching = 0
        self.opened = 0

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncIterator[frozenset[str]]]:
        self.watching += 1
        self.opened += 1
        try:
            yield self._iterate()
        finally:
            self.watching -= 1

    async def _iterate(self) -> AsyncIterator[frozenset[str]]:
        while True:
            item = await self.feed.get()
            if isinstance(item, Exception):
                raise item
            yield frozenset(item)


def hub(store: FeedStore, **options: Any) -> LiveUpdates:
    options.setdefault("max_per_key", 5)
    options.setdefault("max_total", 10)
    return LiveUpdates(store, **options)  # type: ignore[arg-type]


async def wakes_within(subscription: Any, seconds: float) -> int:
    count = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                await subscription.changed()
                count += 1
    return count


async def test_a_busy_gig_wakes_its_subscribers_at_most_every_interval() -> None:
    store = FeedStore()
    live = hub(store, min_interval_s=0.25)
    loop = asyncio.get_running_loop()
    async with live.subscribe("g-1", "k") as subscription:
        wakes: list[float] = []

        async def listen() -> None:
            while True:
                await subscription.changed()
                wakes.append(loop.time())

        listener = asyncio.create_task(listen())
        started = loop.time()
        for _ in range(100):
            store.feed.put_nowait({"g-1"})
            await asyncio.sleep(0.01)
        last_change = loop.time()
        await asyncio.sleep(0.4)
        listener.cancel()
        busy_for = last_change - started
        # Constant changes: one wake-up per 250 ms, not one per change ...
        assert 3 <= len(wakes) <= busy_for / 0.25 + 2
        assert all(b - a >= 0.24 for a, b in itertools.pairwise(wakes))
        # ... and the last change is never dropped: a wake-up follows it.
        assert wakes[-1] >= last_change - 0.01


async def test_only_subscribers_of_a_changed_gig_wake() -> None:
    store = FeedStore()
    live = hub(store)
    async with live.subscribe("g-1", "k") as one, live.subscribe("g-2", "k") as two:
        store.feed.put_nowait({"g-2", "g-3"})
        assert await wakes_within(two, 0.2) == 1
        assert await wakes_within(one, 0.1) == 0


async def test_caps_per_key_and_per_process() -> None:
    live = hub(FeedStore(), max_per_key=2, max_total=3)
    async with live.subscribe("g-1", "a"), live.subscribe("g-2", "a"):
        with pytest.raises(TooManySubscriptions, match="GIGMETRICS_LIVE_MAX_PER_KEY"):
            async with live.subscribe("g-3", "a"):
                pass
        async with live.subscribe("g-3", "b"):
            assert live.count == 3
            with pytest.raises(TooManySubscriptions, match="GIGMETRICS_LIVE_MAX_SUBSCRIPTIONS"):
                async with live.subscribe("g-4", "c"):
                    pass
        async with live.subscribe("g-3", "b"):  # a place freed is usable again
            pass
    assert live.count == 0


async def test_one_watcher_while_anyone_listens_and_none_after() -> None:
    store = FeedStore()
    counts: list[int] = []
    live = hub(store, on_count=counts.append)
    async with live.subscribe("g-1", "a"), live.subscribe("g-1", "b"):
        assert store.watching == 1
    await asyncio.sleep(0.01)
    assert store.watching == 0
    assert counts == [1, 2, 1, 0]
    async with live.subscribe("g-1", "a"):
        assert (store.watching, store.opened) == (1, 2)
    await live.close()


async def test_a_broken_feed_is_restarted_and_its_subscribers_read_again() -> None:
    store = FeedStore()
    live = hub(store)
    async with live.subscribe("g-1", "k") as subscription:
        store.feed.put_nowait(RuntimeError("change stream lost"))
        # After the restart nobody knows what changed meanwhile: everyone reads again.
        assert await wakes_within(subscription, 0.5) == 1
        assert store.opened == 2
        store.feed.put_nowait({"g-1"})
        assert await wakes_within(subscription, 0.5) == 1
    await live.close()
