"""Changed gigs, as a store announces them: the feed behind live updates (`server/live.py`).

A store's `changes()` is entered once per process (the live hub does that) and yields sets
of gig ids whose rollups changed, after the change is visible to reads. On SQLite the
writer thread publishes to an in-process `ChangeNotifier` after each commit; on MongoDB a
change stream on `rollups` sees every server process's commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import AsyncIterator, Iterable

GigSet = frozenset[str]


class ChangeNotifier:
    """In-process fan-out of changed gigs; `publish` may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._listeners: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[GigSet]]] = {}

    def publish(self, gigs: Iterable[str]) -> None:
        """Tell every listener these gigs changed (nothing when there are none)."""
        changed = frozenset(gigs)
        if not changed:
            return
        with self._lock:
            listeners = list(self._listeners.values())
        for loop, queue in listeners:
            # RuntimeError: that listener's event loop is closed, so nobody listens any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, changed)

    @contextlib.asynccontextmanager
    async def listen(self) -> AsyncIterator[AsyncIterator[GigSet]]:
        """Sets of changed gigs published after entering, in order."""
        queue: asyncio.Queue[GigSet] = asyncio.Queue()
        with self._lock:
            token = next(self._ids)
            self._listeners[token] = (asyncio.get_running_loop(), queue)
        try:
            yield _drain(queue)
        finally:
            with self._lock:
                self._listeners.pop(token, None)


async def _drain(queue: asyncio.Queue[GigSet]) -> AsyncIterator[GigSet]:
    while True:
        changed = set(await queue.get())
        while not queue.empty():  # whatever piled up meanwhile, as one set
            changed |= queue.get_nowait()
        yield frozenset(changed)
