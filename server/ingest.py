"""Ingestion shared by `POST /collect` and the `recordEvents` mutation: store, then report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .events import Batch
from .observability import STORE_WRITE_SECONDS, count_events
from .stores.base import Store


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a caller is told about its batch."""

    accepted: int
    duplicates: int
    rejected: tuple[tuple[int, str], ...]

    def as_json(self) -> dict[str, Any]:
        """The pinned `/collect` response body."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [{"index": i, "reason": r} for i, r in self.rejected],
        }


async def record(store: Store, batch: Batch) -> Receipt:
    """Store a validated batch; returns once every accepted event is durable."""
    started = time.perf_counter()
    result = await store.ingest(batch.events, batch.rejections)
    STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
    # The automated flag comes with the request (crawler, webdriver), so a batch shares it.
    automated = bool(batch.events) and batch.events[0].automated
    count_events(result.accepted, result.duplicates, len(batch.rejections), automated=automated)
    return Receipt(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=tuple((r.index, r.reason) for r in batch.rejections),
    )


def now_ms() -> int:
    """The server clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000
