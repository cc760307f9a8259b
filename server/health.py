"""`/healthz` (the process runs) and `/readyz` (the store answers and takes writes).

A store that failed a write (disk full, locked, read-only) is not ready until a write at
least as large works again: a one-event beacon fits where a 50-event batch does not. Once a
load balancer stops sending traffic nothing else would write, so `/readyz` itself tries a
write while the store is failing, one larger than any batch (`probe_write`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol, runtime_checkable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .errors import StoreUnavailable
from .stores.base import Store

READY_TIMEOUT_S = 2.0

log = logging.getLogger("gigmetrics.health")


@runtime_checkable
class WriteProbe(Protocol):
    """A store that can try a small write that needs new space, and leaves nothing behind."""

    async def probe_write(self) -> None:
        """Raise `StoreUnavailable` when the store cannot write."""


class StoreHealth:
    """Whether the store took its last write; shared by every writer of one app."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.write_error: str | None = None
        # The largest write (events and rejections) that failed since the store last worked.
        self.failed_size = 0

    def write_failed(self, error: StoreUnavailable, size: int = 1) -> None:
        """Note a failed write of `size` records: not ready until a write at least that large
        works (logged once, no traceback)."""
        if self.write_error is None:
            log.warning("the store cannot write, /readyz says unavailable: %s", error)
        self.write_error = str(error)
        self.failed_size = max(self.failed_size, size)

    def write_worked(self, size: int | None = None) -> None:
        """Note a write of `size` records that worked (None: larger than any batch)."""
        if self.write_error is None or (size is not None and size < self.failed_size):
            return
        log.warning("the store takes writes again, /readyz says ready")
        self.write_error = None
        self.failed_size = 0

    async def unready_reason(self) -> str | None:
        """None when the store answers and takes writes, else what is wrong."""
        if self.write_error is not None:
            try:
                await asyncio.wait_for(self._probe(), READY_TIMEOUT_S)
            except (StoreUnavailable, TimeoutError) as exc:
                self.write_error = str(exc) or self.write_error
                return f"the store cannot write: {self.write_error}"
            self.write_worked()
        try:
            if await asyncio.wait_for(self.store.ping(), READY_TIMEOUT_S):
                return None
        except Exception:  # any failure to answer means not ready
            pass
        return "the store does not answer"

    async def _probe(self) -> None:
        if isinstance(self.store, WriteProbe):
            await self.store.probe_write()
        else:  # a store without a probe: an empty write at least reaches it
            await self.store.ingest((), ())


def health_routes(health: StoreHealth) -> list[Route]:
    """The two probe routes."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        reason = await health.unready_reason()
        if reason is None:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "error": reason}, 503)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
