"""Ingestion shared by `POST /collect` and the `recordEvents` mutation: store, then report."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from .errors import StoreUnavailable
from .model import Batch, Rejection
from .observability import STORE_WRITE_SECONDS, count_events
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


# Rejected events are written in full while they come slowly; beyond this rate (per process)
# one in FLOOD_SAMPLE_EVERY is, so a flood of junk can neither fill the disk nor hold up the
# writer. Every rejection is still reported to its sender.
REJECTIONS_STORED_PER_S = 200
FLOOD_SAMPLE_EVERY = 100


class RejectionSampler:
    """Decides which rejections of a batch are stored."""

    def __init__(
        self, per_second: int = REJECTIONS_STORED_PER_S, sample_every: int = FLOOD_SAMPLE_EVERY
    ) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._rate = RateLimitItemPerSecond(per_second)
        self._sample_every = sample_every
        self._over = 0
        self.dropped = 0

    def kept(self, rejections: tuple[Rejection, ...]) -> tuple[Rejection, ...]:
        """The rejections to store: all of them under the rate, else a sample."""
        if not rejections or self._limiter.hit(self._rate, "rejections", cost=len(rejections)):
            return rejections
        sample = []
        for rejection in rejections:
            self._over += 1
            if self._over % self._sample_every == 0:
                sample.append(rejection)
        self.dropped += len(rejections) - len(sample)
        return tuple(sample)


async def record(
    store: Store,
    batch: Batch,
    health: StoreHealth | None = None,
    sampler: RejectionSampler | None = None,
) -> Receipt:
    """Store a validated batch; returns once every accepted event is durable.

    A store that cannot write raises `StoreUnavailable`, which `health` notes for `/readyz`;
    `sampler` thins the rejections that are stored during a flood.
    """
    stored = batch
    if sampler is not None and batch.rejections:
        stored = Batch(batch.events, sampler.kept(batch.rejections))
    size = len(stored.events) + len(stored.rejections)
    started = time.perf_counter()
    try:
        result = await store.ingest(stored.events, stored.rejections)
    except StoreUnavailable as exc:
        if health is not None:
            health.write_failed(exc, size)
        raise
    if health is not None:
        # Duplicates took no space: only what was written says the store has room.
        health.write_worked(result.accepted + len(stored.rejections))
    STORE_WRITE_SECONDS.observe(time.perf_counter() - started)
    count_events(result.accepted, result.duplicates, len(batch.rejections), result.invalid)
    return Receipt(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=tuple((r.index, r.reason) for r in batch.rejections),
    )
