"""The store contract: what the collector and the API need from a database, and no more.

Two implementations stand behind it: `sqlite/` (embedded, the default) and `mongo/`
(production). `tests/stores/test_store_contract.py` runs one suite against every store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, fields
from typing import Any, Protocol

from ..counting.metrics import ContextRow, Metrics, RollupRow
from ..counting.ownership import Conflict
from ..counting.splits import SplitRow
from ..model import Event, Rejection, Surface

# Every store keeps at most this many rejected events, the newest, enforced when it writes
# them (not by a later purge): a flood of junk cannot fill the disk.
REJECTIONS_KEPT = 20_000


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What happened to a sequence of events handed to `Store.ingest`."""

    accepted: int
    duplicates: int
    # Of the accepted, how many were stored as invalid traffic (never counted).
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A partner API key as stored: only the SHA-256 of the secret is kept."""

    key_id: str
    secret_hash: str
    name: str
    sellers: tuple[str, ...]
    can_write: bool
    created: int
    revoked: int | None = None
    expires: int | None = None  # refused from this time on
    last_used: int | None = None  # recorded at most about once a minute


@dataclass(frozen=True, slots=True)
class StoredRejection:
    """A rejected event kept for inspection."""

    received: int
    index: int
    reason: str
    raw: str


@dataclass(frozen=True, slots=True)
class InvalidRow:
    """Invalid events of one gig for one reason, summed over a window."""

    gig: str
    reason: str
    events: int


@dataclass(frozen=True, slots=True)
class DeletedData:
    """How many records `Store.delete_data` removed, by kind."""

    gigs: int = 0
    events: int = 0
    impressions: int = 0
    page_views: int = 0
    rollups: int = 0
    context_rollups: int = 0
    context_days: int = 0
    rejections: int = 0
    invalid_rollups: int = 0
    gig_claims: int = 0
    split_rollups: int = 0
    variant_days: int = 0

    def __add__(self, other: DeletedData) -> DeletedData:
        return DeletedData(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )


class Store(Protocol):
    """One database behind gigmetrics."""

    async def open(self) -> None:
        """Connect, and create tables or indexes that are missing."""

    async def close(self) -> None:
        """Release connections; safe to call twice."""

    async def ping(self) -> bool:
        """True while the database answers."""

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection] = ()
    ) -> IngestResult:
        """Store events exactly once (deduped by `Event.id`) and fold them into the rollups.

        Returns only after everything is durable: an acknowledged event is never lost, and an
        event retried after a crash is never counted twice. Rejections are kept for inspection,
        at most the newest `REJECTIONS_KEPT` of them.
        """

    async def surface_totals(self, gigs: Sequence[str], start: int, end: int) -> list[RollupRow]:
        """Rows summed per (gig, surface) over `start <= bucket < end`; `bucket` is `start`."""

    async def span_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[RollupRow]:
        """Rows summed per (gig, span, surface) for the spans `[edges[i], edges[i+1])`;
        a row's `bucket` is its span's start. Days of a window are spans: a daily series then
        reads days x surfaces sums, not every 15-minute row."""

    async def gig_totals(
        self, gigs: Sequence[str] | None, start: int, end: int,
        click_surfaces: frozenset[Surface],
    ) -> dict[str, Metrics]:
        """Each gig's totals over `start <= bucket < end`, clicks only of `click_surfaces`,
        summed by the database (rankings read one row per gig); gigs without rows are left
        out."""

    async def context_totals(
        self, gigs: Sequence[str], start: int, end: int
    ) -> list[ContextRow]:
        """Context rollups summed per (gig, surface, context) over `start <= bucket < end`."""

    async def split_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[SplitRow]:
        """Split rollups (variants, devices, revenue per currency) summed per (gig, span,
        kind, key) for the spans `[edges[i], edges[i+1])`."""

    async def sellers(self) -> list[str]:
        """Every seller some gig is known to belong to, sorted."""

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with one of these sellers (all gigs for None), sorted."""

    async def seller_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each of these gigs (gigs with none are left out)."""

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first."""

    def counters(self) -> Any:
        """A `limits` async storage for rate counters: per process, or shared by every
        process of a store that many processes use."""

    async def invalid_totals(self, gigs: Sequence[str], start: int, end: int) -> list[InvalidRow]:
        """Invalid-traffic rollups summed per (gig, reason) over `start <= bucket < end`,
        sorted by gig and reason."""

    async def set_owner(self, gig: str, seller: str, when: int) -> None:
        """Make `seller` the owner of `gig` (the admin's word: it always applies)."""

    async def gig_claims(self, limit: int) -> list[Conflict]:
        """Sellers named for gigs another seller owns, most recent first."""

    async def purge(self, raw_before: int, buckets_before: int) -> None:
        """Drop raw events older than `raw_before` and rollups older than `buckets_before`."""

    async def save_key(self, key: ApiKey) -> None:
        """Store a new API key."""

    async def keys(self) -> list[ApiKey]:
        """All API keys, revoked ones too, oldest first."""

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to `secret_hash`, revoked or not."""

    async def revoke_key(self, key_id: str, when: int) -> bool:
        """Mark a key revoked; False when there is no such key."""

    async def touch_key(self, key_id: str, when: int) -> None:
        """Record a use of the key (`last_used` only moves forward); unknown ids are ignored."""

    def changes(self) -> AbstractAsyncContextManager[AsyncIterator[frozenset[str]]]:
        """Watch for changed gigs: once entered, the iterator yields the ids of gigs whose
        rollups changed (by any process writing this database) after each change is
        visible to reads. Meant to be entered once per process (`server/live.py`)."""

    async def delete_data(self, gigs: Sequence[str], seller: str | None = None) -> DeletedData:
        """Delete everything of these gigs: raw events, impressions, page loads, rollups,
        context rollups and days, split rollups and variant days, rejected events that name
        them, and their gig records; with `seller`, also raw events and rejections naming
        that seller. Idempotent."""
