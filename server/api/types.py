"""The GraphQL types. Every type, field and value is described: the SDL is the contract."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ..counting import metrics
from ..counting.ownership import Conflict
from ..model import Surface as WireSurface
from ..model import invalid_kind
from ..service import Span
from ..stores.base import StoredRejection
from .breakdowns import DeviceMetrics, Revenue, VariantMetrics, devices_of, revenue_of, variants_of
from .enums import SurfaceName
from .metric_fields import MetricsFields, measured
from .request_context import Context
from .search_contexts import ContextMetrics, FirstContextsArg, check_first


@strawberry.type(description="A gig's metrics on one local calendar day.")
class DailyMetrics(MetricsFields):
    date: date = strawberry.field(description="The local day (YYYY-MM-DD) in the time zone asked.")

    @classmethod
    def of(cls, day: metrics.DayFigures) -> DailyMetrics:
        """Map one day of a report."""
        return cls(date=day.date, **measured(day.metrics))


@strawberry.type(description="A gig's metrics on one surface over the window.")
class SurfaceMetrics(MetricsFields):
    surface: SurfaceName = strawberry.field(description="The surface.")
    clicks: int = strawberry.field(
        description="Every click made on this surface, also on surfaces that are not click "
        "surfaces (so these may add up to more than the gig's clicks)."
    )

    @classmethod
    def of(cls, item: metrics.SurfaceFigures) -> SurfaceMetrics:
        """Map one surface of a report."""
        return cls(surface=SurfaceName.of(item.surface), **measured(item.metrics))


@strawberry.type(description="The stretch of time metrics cover.")
class TimeWindow:
    start: datetime = strawberry.field(description="First instant covered (UTC).")
    end: datetime = strawberry.field(description="End of the window, excluded (UTC).")
    time_zone: str = strawberry.field(description="IANA time zone the days are cut in.")
    days: int = strawberry.field(description="How many local days the window touches.")

    @classmethod
    def of(cls, span: Span) -> TimeWindow:
        """Describe a service span."""
        return cls(
            start=_utc(span.window.start),
            end=_utc(span.window.end),
            time_zone=span.time_zone,
            days=len(span.window.days),
        )


async def _daily(root: GigMetrics, info: Info[Context, None]) -> list[DailyMetrics]:
    report = await info.context.reports.load((str(root.gig_id), root.span))
    return [DailyMetrics.of(day) for day in report.daily]


async def _by_surface(root: GigMetrics, info: Info[Context, None]) -> list[SurfaceMetrics]:
    report = await info.context.reports.load((str(root.gig_id), root.span))
    return [SurfaceMetrics.of(item) for item in report.by_surface]


async def _previous_period(root: GigMetrics, info: Info[Context, None]) -> GigMetrics | None:
    previous = info.context.service.previous(root.span)
    if previous is None:
        return None
    gig = str(root.gig_id)
    return GigMetrics.of(gig, await info.context.totals.load((gig, previous)), previous)


async def _by_context(
    root: GigMetrics,
    info: Info[Context, None],
    first: FirstContextsArg = 10,
    surface: Annotated[
        SurfaceName | None, strawberry.argument(description="Only this surface's contexts.")
    ] = None,
) -> list[ContextMetrics]:
    count = check_first(first)
    rows = await info.context.contexts.load((str(root.gig_id), root.span))
    return contexts_of(rows, count, surface)


def contexts_of(
    rows: list[metrics.ContextRow], first: int, surface: SurfaceName | None
) -> list[ContextMetrics]:
    """The `first` largest contexts of these rows, mapped."""
    wanted = None if surface is None else WireSurface[surface.name]
    return [ContextMetrics.of(c) for c in metrics.by_context(rows, first, wanted)]


PREVIOUS_NOTE = (
    "The same over the window of equal length that ends where this one starts (the same "
    "number of whole local days before a range); null when it would reach past the rollups "
    "kept (GIGMETRICS_BUCKET_RETENTION_DAYS)."
)
BY_CONTEXT_NOTE = (
    "Which searches and categories (the listings' data-gm-context) showed it: the first "
    "contexts by served impressions, largest first, read from context rollups. Listings "
    "without a context are left out."
)


@strawberry.type(
    description="Traffic kept but never counted, for one reason (MRC general or sophisticated "
    "invalid traffic)."
)
class InvalidTraffic:
    reason: str = strawberry.field(
        description="Stable code: crawler, declared_automation, over_rate, too_many_tiles, "
        "click_unshown, unsigned, bad_signature, stale_signature, replayed."
    )
    kind: str = strawberry.field(description="GIVT (general) or SIVT (sophisticated).")
    events: int = strawberry.field(description="How many events, over the same window.")


async def _invalid_traffic(root: GigMetrics, info: Info[Context, None]) -> list[InvalidTraffic]:
    gig = str(root.gig_id)
    rows = (await info.context.service.invalid([gig], root.span))[gig]
    return [InvalidTraffic(reason=r.reason, kind=invalid_kind(r.reason), events=r.events)
            for r in sorted(rows, key=lambda r: (-r.events, r.reason))]


@strawberry.type(description="One gig's metrics over a window: totals, daily series, surfaces.")
class GigMetrics(MetricsFields):
    gig_id: strawberry.ID = strawberry.field(description="The gig's id (as in data-gm-gig).")
    window: TimeWindow = strawberry.field(description="The window these metrics cover.")
    span: strawberry.Private[Span]
    conversion_rate: float | None = strawberry.field(
        description="Percent: 100 * orders / (clicks + views), the visits to the gig's page; "
        "null without visits."
    )

    daily: list[DailyMetrics] = strawberry.field(
        resolver=_daily,
        description="One entry for every local day the window touches (31 for the default "
        "window), oldest first, zero-filled; clicks count click surfaces only.",
    )
    by_surface: list[SurfaceMetrics] = strawberry.field(
        resolver=_by_surface,
        description="One entry per surface (all five, zero-filled); clicks here are every "
        "click made on that surface.",
    )
    previous_period: GigMetrics | None = strawberry.field(
        resolver=_previous_period, description=PREVIOUS_NOTE
    )
    by_context: list[ContextMetrics] = strawberry.field(
        resolver=_by_context, description=BY_CONTEXT_NOTE
    )
    invalid_traffic: list[InvalidTraffic] = strawberry.field(
        resolver=_invalid_traffic,
        description="Events of this gig kept but never counted (crawlers, automation, "
        "over-rate, forged or replayed signatures...), per reason, most first, over the same "
        "window; read from rollups.",
    )
    revenue: list[Revenue] = strawberry.field(
        resolver=revenue_of,
        description="Orders' value per currency over the window, the largest amount first "
        "(one entry per currency; no conversion between them).",
    )
    variants: list[VariantMetrics] = strawberry.field(
        resolver=variants_of,
        description="One entry per tile variant (data-gm-variant) seen in the window, the "
        "most served first, each against the baseline with an always-valid verdict; read "
        "from variant rollups.",
    )
    by_device: list[DeviceMetrics] = strawberry.field(
        resolver=devices_of,
        description="One entry per device class (all four, zero-filled), from the request "
        "that carried each tile's served event; read from device rollups.",
    )

    @classmethod
    def of(cls, gig: str, total: metrics.Metrics, span: Span) -> GigMetrics:
        """A gig's node; daily and bySurface are loaded in batches when asked for."""
        return cls(
            gig_id=strawberry.ID(gig), window=TimeWindow.of(span), span=span,
            conversion_rate=total.conversion_rate, **measured(total)
        )


@strawberry.type(description="A gig in a list, and where it is in the list.")
class GigMetricsEdge:
    cursor: str = strawberry.field(
        description="Opaque position of this gig; pass it as `after` to continue after it."
    )
    node: GigMetrics = strawberry.field(description="The gig's metrics.")


@strawberry.type(description="Where a page is in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when more gigs follow this page.")
    has_previous_page: bool = strawberry.field(
        description="True when this page started after a cursor."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first gig on the page; null for an empty page."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last gig on the page; pass it as `after` for the next page."
    )


@strawberry.type(description="A page of gigs with their metrics.")
class GigMetricsConnection:
    edges: list[GigMetricsEdge] = strawberry.field(description="The gigs on this page, in order.")
    page_info: PageInfo = strawberry.field(description="How to get the next page.")
    total_count: int = strawberry.field(description="How many gigs the whole list holds.")


@strawberry.type(description="One event of a recordEvents batch that was not stored.")
class EventRejection:
    index: int = strawberry.field(description="Position of the event in the batch (from 0).")
    reason: str = strawberry.field(description="Why it was refused, and what would be accepted.")


@strawberry.type(description="What happened to a recordEvents batch (as POST /collect answers).")
class RecordEventsResult:
    accepted: int = strawberry.field(description="Events stored now.")
    duplicates: int = strawberry.field(
        description="Events already stored before (same id); not counted again."
    )
    rejected: list[EventRejection] = strawberry.field(
        description="Events refused, with reasons; the rest of the batch is unaffected."
    )


@strawberry.type(description="A refused event kept for inspection; never counted.")
class RejectedEvent:
    index: int = strawberry.field(description="Position of the event in its batch (from 0).")
    reason: str = strawberry.field(description="Why it was refused.")
    raw: str = strawberry.field(description="The event as received (JSON, cut at 1024 chars).")
    received_at: datetime = strawberry.field(description="When it was received (UTC).")

    @classmethod
    def of(cls, stored: StoredRejection) -> RejectedEvent:
        """Map a stored rejection."""
        return cls(
            index=stored.index,
            reason=stored.reason,
            raw=stored.raw,
            received_at=_utc(stored.received),
        )


@strawberry.type(description="A gig's owner, as the admin set it.")
class GigOwner:
    gig_id: strawberry.ID = strawberry.field(description="The gig.")
    seller_id: strawberry.ID = strawberry.field(description="Its owner from now on.")


@strawberry.type(
    description="A seller named for a gig another seller owns: kept for the admin, never "
    "applied (setGigOwner moves a gig)."
)
class GigClaim:
    gig_id: strawberry.ID = strawberry.field(description="The gig.")
    seller_id: strawberry.ID = strawberry.field(
        description="The seller the events named; * sums the sellers past the gig's first 20."
    )
    events: int = strawberry.field(description="How many events named it.")
    first_seen: datetime = strawberry.field(description="The first such event (UTC).")
    last_seen: datetime = strawberry.field(description="The latest such event (UTC).")

    @classmethod
    def of(cls, claim: Conflict) -> GigClaim:
        """Map a stored conflict."""
        return cls(
            gig_id=strawberry.ID(claim.gig), seller_id=strawberry.ID(claim.seller),
            events=claim.events, first_seen=_utc(claim.first), last_seen=_utc(claim.last),
        )


@strawberry.type(description="The API key of this request and what it may do.")
class Viewer:
    is_admin: bool = strawberry.field(description="True for the admin key: reads everything.")
    sellers: list[str] = strawberry.field(
        description="Sellers whose gigs this key may read (empty for the admin: all)."
    )
    can_write: bool = strawberry.field(description="True when it may call recordEvents.")
    key_name: str | None = strawberry.field(description="Who the key was made for.")


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
