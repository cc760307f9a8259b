"""Live updates: one watcher of the store's changes per process, fanned out to subscriptions.

The store says which gigs changed (`Store.changes()`: SQLite in process, MongoDB through a
change stream, so a beacon stored by any server process reaches every process). The hub
wakes the subscriptions of those gigs, at most once per gig every `min_interval_s` however
busy the gig is; each subscription then reads its metrics again (`api/subscriptions.py`).
The watcher runs only while there are subscriptions, and is restarted after an error (its
subscriptions then read again, so nothing that changed meanwhile is missed).

Bounds: `max_per_key` subscriptions per API key and `max_total` per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable

from .errors import TooManySubscriptions
from .stores.base import Store

log = logging.getLogger("gigmetrics.live")

MIN_INTERVAL_S = 0.25
RESTART_AFTER_S = (0.1, 0.5, 1.0, 2.0, 5.0)


class Subscription:
    """One subscriber's view of the hub: `changed()` returns when its gig may have changed."""

    def __init__(self, gig: str, key: str) -> None:
        self.gig = gig
        self.key = key
        self._dirty = asyncio.Event()

    def wake(self) -> None:
        self._dirty.set()

    async def changed(self) -> None:
        """Wait for the next change of the gig (changes while reading are not lost)."""
        await self._dirty.wait()
        self._dirty.clear()


class LiveUpdates:
    """The process's live-update hub."""

    def __init__(
        self,
        store: Store,
        *,
        max_per_key: int,
        max_total: int,
        min_interval_s: float = MIN_INTERVAL_S,
        on_count: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.max_per_key = max_per_key
        self.max_total = max_total
        self.min_interval_s = min_interval_s
        self.on_count = on_count  # e.g. a Prometheus gauge's `set`
        self._by_gig: dict[str, set[Subscription]] = {}
        self._per_key: Counter[str] = Counter()
        self._last_wake: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._watcher: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    @property
    def count(self) -> int:
        """Live subscriptions in this process."""
        return sum(self._per_key.values())

    @contextlib.asynccontextmanager
    async def subscribe(self, gig: str, key: str) -> AsyncIterator[Subscription]:
        """Register a subscription to `gig` for the API key named `key`; on entering, the
        watcher is running, so any change committed after that wakes it."""
        if self.count >= self.max_total:
            raise TooManySubscriptions(
                f"this server has {self.max_total} live subscriptions already "
                "(GIGMETRICS_LIVE_MAX_SUBSCRIPTIONS): try again later, or poll gigMetrics."
            )
        if self._per_key[key] >= self.max_per_key:
            raise TooManySubscriptions(
                f"this API key has {self.max_per_key} live subscriptions open on this server "
                "already (GIGMETRICS_LIVE_MAX_PER_KEY): close one first."
            )
        subscription = Subscription(gig, key)
        self._by_gig.setdefault(gig, set()).add(subscription)
        self._per_key[key] += 1
        self._counted()
        try:
            await self._watching()
            yield subscription
        finally:
            self._leave(subscription)

    async def close(self) -> None:
        """Stop the watcher (the app's shutdown)."""
        await self._stop_watcher()

    # -- the watcher -------------------------------------------------------------------------

    async def _watching(self) -> None:
        if self._watcher is None or self._watcher.done():
            self._ready = asyncio.get_running_loop().create_future()
            self._watcher = asyncio.create_task(self._watch(self._ready))
        assert self._ready is not None
        await asyncio.shield(self._ready)

    async def _watch(self, ready: asyncio.Future[None]) -> None:
        failures = 0
        while True:
            try:
                async with self.store.changes() as feed:
                    if ready.done():  # a restart: what changed while it was down is unknown
                        self._changed(list(self._by_gig))
                    else:
                        ready.set_result(None)
                    failures = 0
                    async for gigs in feed:
                        self._changed(gigs)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                if not ready.done():
                    ready.set_exception(error)  # the first subscriber hears why
                    ready.exception()  # retrieved: later ones start a new watcher
                    return
                log.warning("watching for changes failed, restarting: %s", error)
            delay = RESTART_AFTER_S[min(failures, len(RESTART_AFTER_S) - 1)]
            failures += 1
            await asyncio.sleep(delay)

    async def _stop_watcher(self) -> None:
        watcher, self._watcher, self._ready = self._watcher, None, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher

    # -- fan-out -----------------------------------------------------------------------------

    def _changed(self, gigs: Iterable[str]) -> None:
        loop = asyncio.get_running_loop()
        for gig in gigs:
            if gig not in self._by_gig or gig in self._pending:
                continue  # nobody listens, or a wake-up is already due
            due = self._last_wake.get(gig, 0.0) + self.min_interval_s
            if due <= loop.time():
                self._wake(gig)
            else:
                self._pending[gig] = loop.call_at(due, self._wake, gig)

    def _wake(self, gig: str) -> None:
        self._pending.pop(gig, None)
        self._last_wake[gig] = asyncio.get_running_loop().time()
        for subscription in self._by_gig.get(gig, ()):
            subscription.wake()

    def _leave(self, subscription: Subscription) -> None:
        subscribers = self._by_gig.get(subscription.gig)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._by_gig[subscription.gig]
                self._last_wake.pop(subscription.gig, None)
                if (handle := self._pending.pop(subscription.gig, None)) is not None:
                    handle.cancel()
        self._per_key[subscription.key] -= 1
        if self._per_key[subscription.key] <= 0:
            del self._per_key[subscription.key]
        self._counted()
        if not self._by_gig and self._watcher is not None:
            # Nobody listens: stop watching (the next subscription starts a new watcher).
            watcher, self._watcher, self._ready = self._watcher, None, None
            watcher.cancel()

    def _counted(self) -> None:
        if self.on_count is not None:
            self.on_count(self.count)
