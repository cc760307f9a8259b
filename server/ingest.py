"""Ingestion shared by `POST /collect` and the `recordEvents` mutation: store, then report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import StoreUnavailable
from .events import Batch
from .stores.base import Store

if TYPE_CHECKING:
    from .health import StoreHealth


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


async def record(store: Store, batch: Batch, health: StoreHealth | None = None) -> Receipt:
    """Store a validated batch; returns once every accepted event is durable.

    A store that cannot write raises `StoreUnavailable`, which `health` notes for `/readyz`.
    """
    try:
        result = await store.ingest(batch.events, batch.rejections)
    except StoreUnavailable as exc:
        if health is not None:
            health.write_failed(exc)
        raise
    if health is not None:
        health.write_worked()
    return Receipt(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=tuple((r.index, r.reason) for r in batch.rejections),
    )


def now_ms() -> int:
    """The server clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000
