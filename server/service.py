"""The metrics service: arguments → window → store → metrics. The GraphQL resolvers call it.

It knows nothing of GraphQL and does no arithmetic of its own: windows come from `windows`,
counts, rates and ranking keys from `metrics`, validation and the seller screen from the edge
(`events`, `screen`), storage from `ingest`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .counting.metrics import (
    ContextRow,
    GigReport,
    Metrics,
    Order,
    RankKey,
    RollupRow,
    combined,
    rank_keys,
    report,
    totals,
)
from .counting.ownership import Conflict
from .counting.splits import SplitRow
from .counting.windows import Window, previous_window, range_window, rolling_window
from .edge.events import parse_events
from .edge.screen import screened, seller_screen
from .health import StoreHealth
from .ingest import Receipt, record
from .model import Batch, Trust
from .settings import Settings
from .stores.base import DeletedData, InvalidRow, Store, StoredRejection


@dataclass(frozen=True, slots=True)
class Span:
    """A query window and the time zone its days are cut in."""

    window: Window
    time_zone: str


class MetricsService:
    """Reads and writes for one request, at one instant `now` (epoch ms)."""

    def __init__(
        self, store: Store, settings: Settings, now: int, *, health: StoreHealth | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.now = now
        self.health = health

    def span(self, first: date | None, last: date | None, time_zone: str | None) -> Span:
        """The window asked for: whole local days `first`..`last`, else the rolling 30 days."""
        name = time_zone or "UTC"
        if first is None or last is None:
            return Span(rolling_window(self.now, name), name)
        window = range_window(
            first, last, name, now=self.now, retention_days=self.settings.bucket_retention_days
        )
        return Span(window, name)

    def previous(self, span: Span) -> Span | None:
        """The span of equal length just before `span`; None past the rollups kept."""
        window = previous_window(
            span.window,
            span.time_zone,
            now=self.now,
            retention_days=self.settings.bucket_retention_days,
        )
        return None if window is None else Span(window, span.time_zone)

    async def totals(self, gigs: Sequence[str], span: Span) -> dict[str, Metrics]:
        """Each gig's totals over the window (zeros for gigs without data): one store read."""
        if not gigs:
            return {}
        rows = await self.store.surface_totals(gigs, span.window.start, span.window.end)
        found = totals(rows, self.settings.click_surfaces)
        return {gig: found.get(gig, Metrics()) for gig in gigs}

    async def reports(self, gigs: Sequence[str], span: Span) -> dict[str, GigReport]:
        """Each gig's totals, daily series and surfaces over the window: one store read of
        per-day sums."""
        if not gigs:
            return {}
        edges = [*span.window.day_starts, span.window.end]
        rows = await self.store.span_totals(gigs, edges)
        by_gig: dict[str, list[RollupRow]] = {gig: [] for gig in gigs}
        for row in rows:
            if row.gig in by_gig:
                by_gig[row.gig].append(row)
        return {
            gig: report(gig, by_gig[gig], span.window, self.settings.click_surfaces)
            for gig in gigs
        }

    async def combined_report(self, name: str, gigs: Sequence[str], span: Span) -> GigReport:
        """The totals, daily series and surfaces of several gigs together (a seller's), as
        one report called `name`: one store read of per-day sums."""
        edges = [*span.window.day_starts, span.window.end]
        rows = await self.store.span_totals(gigs, edges) if gigs else []
        return report(name, combined(rows, name), span.window, self.settings.click_surfaces)

    async def contexts(self, gigs: Sequence[str], span: Span) -> dict[str, list[ContextRow]]:
        """Each gig's context rollups summed over the window: one store read."""
        found: dict[str, list[ContextRow]] = {gig: [] for gig in gigs}
        if gigs:
            for row in await self.store.context_totals(gigs, span.window.start, span.window.end):
                if row.gig in found:
                    found[row.gig].append(row)
        return found

    async def splits(self, gigs: Sequence[str], span: Span) -> dict[str, list[SplitRow]]:
        """Each gig's variant, device and revenue rollups summed per local day of the
        window: one store read."""
        found: dict[str, list[SplitRow]] = {gig: [] for gig in gigs}
        if gigs:
            edges = [*span.window.day_starts, span.window.end]
            for row in await self.store.split_totals(gigs, edges):
                if row.gig in found:
                    found[row.gig].append(row)
        return found

    async def sellers(self) -> list[str]:
        """Every seller some gig belongs to, sorted."""
        return await self.store.sellers()

    async def ranked(
        self, gigs: Sequence[str], span: Span, order: Order, *, every: bool = False
    ) -> list[tuple[str, Metrics, RankKey]]:
        """The gigs sorted by `order` with their totals and sort keys: one store read, of
        per-gig sums (the database adds the rows up, not Python). `every`: `gigs` are all
        the store's gigs, so the read names none of them (no command carries 100,000 ids)."""
        found = (
            await self.store.gig_totals(
                None if every else gigs, span.window.start, span.window.end,
                self.settings.click_surfaces,
            )
            if gigs
            else {}
        )
        zero = Metrics()
        key = rank_keys(order)
        ranked = []
        for gig in gigs:
            m = found.get(gig, zero)
            ranked.append((gig, m, key(gig, m)))
        ranked.sort(key=lambda item: item[2])
        return ranked

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with these sellers (all gigs for None), sorted."""
        return await self.store.gigs_of_sellers(sellers)

    async def sellers_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each gig (gigs without one are left out)."""
        return await self.store.seller_of(gigs) if gigs else {}

    async def record(
        self,
        raw_events: list[dict[str, Any]],
        *,
        sent_at: float | None,
        oldest_days: int,
        sellers: frozenset[str] | None = None,
        trust: int = Trust.FIRST,
    ) -> Receipt:
        """Validate (the same rules as `/collect`) and store a batch of events.

        With `sellers`, only events naming one of them, for gigs not known to belong to
        another seller, are stored; the others are rejected with the reason. `trust` says
        how far the caller's `seller` sets a gig's owner (`ownership`).
        """
        batch = parse_events(
            raw_events, sent_at=sent_at, received=self.now, oldest_days=oldest_days
        )
        hidden: frozenset[int] = frozenset()
        if sellers is not None and batch.events:
            known = await self.sellers_of(sorted({e.gig for e in batch.events}))
            hidden = _others_gigs(batch, raw_events, sellers, known)
            batch = screened(batch, raw_events, seller_screen(sellers, known), self.now)
        if trust != Trust.FIRST:
            batch = Batch(tuple(e._replace(trust=trust) for e in batch.events), batch.rejections)
        receipt = await record(self.store, batch, self.health)
        if not hidden:
            return receipt
        # Another seller's gig gets the answer an unknown gig gets (accepted), so a write key
        # cannot learn that the gig exists; its events are kept, with the real reason, only
        # among the rejected events the admin reads, and never counted.
        return Receipt(
            accepted=receipt.accepted + len(hidden),
            duplicates=receipt.duplicates,
            rejected=tuple(r for r in receipt.rejected if r[0] not in hidden),
        )

    async def invalid(self, gigs: Sequence[str], span: Span) -> dict[str, list[InvalidRow]]:
        """Each gig's invalid traffic per reason over the window: one store read of rollups."""
        found: dict[str, list[InvalidRow]] = {gig: [] for gig in gigs}
        if gigs:
            for row in await self.store.invalid_totals(gigs, span.window.start, span.window.end):
                if row.gig in found:
                    found[row.gig].append(row)
        return found

    async def set_owner(self, gig: str, seller: str) -> None:
        """The admin's word: `seller` owns `gig` from now on."""
        await self.store.set_owner(gig, seller, self.now)

    async def gig_claims(self, limit: int) -> list[Conflict]:
        """Sellers named for gigs another seller owns, most recent first."""
        return await self.store.gig_claims(limit)

    async def delete_gig(self, gig: str) -> DeletedData:
        """Delete everything of one gig (its events arriving later count again, as new)."""
        return await self.store.delete_data([gig])

    async def delete_seller(self, seller: str) -> DeletedData:
        """Delete everything of the gigs a seller owns, and raw events and rejections that
        name the seller."""
        gigs = await self.store.gigs_of_sellers([seller])
        return await self.store.delete_data(gigs, seller=seller)

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first."""
        return await self.store.rejections(limit)


def _others_gigs(
    batch: Batch, raw_events: Sequence[Mapping[str, Any]], sellers: frozenset[str],
    known: Mapping[str, str],
) -> frozenset[int]:
    """Indices of valid events naming one of `sellers` for a gig another seller owns."""
    refused = {r.index for r in batch.rejections}
    indices = [i for i in range(len(raw_events)) if i not in refused]
    return frozenset(
        index for index, event in zip(indices, batch.events, strict=True)
        if event.seller in sellers and (owner := known.get(event.gig)) is not None
        and owner not in sellers
    )
