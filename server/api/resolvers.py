"""Resolvers are glue: check access, read arguments, call the service, map to a type."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info
from strawberry.types.nodes import SelectedField

from ..edge.events import GIG_ID, GIG_RULE
from ..errors import QueryError
from ..model import Trust
from ..service import Span
from .auth import require_admin, require_seller, require_write
from .enums import GigOrder
from .inputs import DateRangeInput, EventInput, RangeArg, TimeZoneArg
from .pagination import DEFAULT_PAGE, MAX_PAGE, Page, paginate
from .request_context import Context
from .sellers import SellerMetrics
from .types import (
    EventRejection,
    GigClaim,
    GigMetrics,
    GigMetricsConnection,
    GigMetricsEdge,
    GigOwner,
    PageInfo,
    RecordEventsResult,
    RejectedEvent,
    Viewer,
)

MAX_REJECTIONS = 500

Ctx = Info[Context, None]
GigIdArg = Annotated[strawberry.ID, strawberry.argument(description="The gig's id.")]
SellerIdArg = Annotated[strawberry.ID, strawberry.argument(description="The seller's id.")]
FirstArg = Annotated[
    int, strawberry.argument(description=f"How many gigs per page, at most {MAX_PAGE}.")
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(description="Continue after this cursor (pageInfo.endCursor)."),
]


async def viewer(info: Ctx) -> Viewer:
    access = await info.context.access()
    return Viewer(
        is_admin=access.admin,
        sellers=sorted(access.sellers),
        can_write=access.can_write,
        key_name=access.key_name,
    )


async def gig_metrics(
    info: Ctx, gig_id: GigIdArg, range_: RangeArg = None, time_zone: TimeZoneArg = None
) -> GigMetrics:
    ctx = info.context
    access = await ctx.access()
    span = _span(ctx, range_, time_zone)
    gig = str(gig_id)
    await ctx.require_readable(access, [gig])
    if _asks_for(info, {"daily", "bySurface"}):
        # The per-day sums hold the totals too: one store read instead of two.
        report = await ctx.reports.load((gig, span))
        return GigMetrics.of(gig, report.total, span)
    totals = await ctx.service.totals([gig], span)
    return GigMetrics.of(gig, totals[gig], span)


def _asks_for(info: Ctx, names: set[str]) -> bool:
    """True when the query selects any of these fields right under this one."""
    return any(
        isinstance(child, SelectedField) and child.name in names
        for field in info.selected_fields
        for child in field.selections
    )


async def sellers(info: Ctx) -> list[str]:
    ctx = info.context
    access = await ctx.access()
    if access.admin:
        return await ctx.service.sellers()
    return sorted(access.sellers)


async def seller_metrics(
    info: Ctx,
    seller_id: SellerIdArg,
    range_: RangeArg = None,
    time_zone: TimeZoneArg = None,
) -> SellerMetrics:
    ctx = info.context
    access = await ctx.access()
    seller = str(seller_id)
    require_seller(access, seller)
    span = _span(ctx, range_, time_zone)
    gigs = await ctx.visible(access, await ctx.service.gigs_of_sellers([seller]))
    return await SellerMetrics.load(ctx, seller, gigs, span)


async def seller_gigs(
    info: Ctx,
    seller_id: SellerIdArg,
    first: FirstArg = DEFAULT_PAGE,
    after: AfterArg = None,
    range_: RangeArg = None,
    time_zone: TimeZoneArg = None,
) -> GigMetricsConnection:
    ctx = info.context
    access = await ctx.access()
    seller = str(seller_id)
    require_seller(access, seller)
    span = _span(ctx, range_, time_zone)
    gigs = await ctx.visible(access, await ctx.service.gigs_of_sellers([seller]))
    page = paginate(gigs, lambda gig: (gig,), first=first, after=after, list_name=f"s:{seller}")
    totals = await ctx.service.totals([gig for _, gig in page.items], span)
    return _connection(page, [(c, GigMetrics.of(g, totals[g], span)) for c, g in page.items])


async def top_gigs(
    info: Ctx,
    by: Annotated[GigOrder, strawberry.argument(description="What to rank by.")],
    seller_id: Annotated[
        strawberry.ID | None,
        strawberry.argument(description="Only this seller's gigs; default all the key reads."),
    ] = None,
    first: FirstArg = DEFAULT_PAGE,
    after: AfterArg = None,
    range_: RangeArg = None,
    time_zone: TimeZoneArg = None,
) -> GigMetricsConnection:
    ctx = info.context
    access = await ctx.access()
    sellers: list[str] | None
    if seller_id is not None:
        require_seller(access, str(seller_id))
        sellers = [str(seller_id)]
    else:
        sellers = None if access.admin else sorted(access.sellers)
    span = _span(ctx, range_, time_zone)
    gigs = await ctx.service.gigs_of_sellers(sellers) if sellers != [] else []
    gigs = await ctx.visible(access, gigs)
    # Every gig (the admin's ranking): the store sums them all without a list of ids.
    ranked = await ctx.service.ranked(gigs, span, by.order, every=sellers is None)
    scope = "*" if sellers is None else ",".join(sellers)
    page = paginate(
        ranked, lambda item: item[2], first=first, after=after, list_name=f"t:{by.name}:{scope}"
    )
    # The page's figures come from the same read as every other gig node's (surface totals).
    totals = await ctx.service.totals([gig for _, (gig, _, _) in page.items], span)
    nodes = [(cursor, GigMetrics.of(gig, totals[gig], span)) for cursor, (gig, _, _) in page.items]
    return _connection(page, nodes)


async def rejected_events(
    info: Ctx,
    limit: Annotated[
        int, strawberry.argument(description=f"How many, 1 to {MAX_REJECTIONS}.")
    ] = 50,
) -> list[RejectedEvent]:
    ctx = info.context
    require_admin(await ctx.access(), "rejectedEvents")
    _check_limit(limit, "rejected events")
    return [RejectedEvent.of(r) for r in await ctx.service.rejections(limit)]


async def record_events(
    info: Ctx,
    events: Annotated[
        list[EventInput], strawberry.argument(description="The events, as /collect sends them.")
    ],
    sent_at: Annotated[
        float | None,
        strawberry.argument(
            description="When the batch was sent, epoch ms; corrects client clock skew."
        ),
    ] = None,
) -> RecordEventsResult:
    ctx = info.context
    access = await ctx.access()
    require_write(access)
    settings = ctx.settings
    receipt = await ctx.service.record(
        [event.as_wire() for event in events],
        sent_at=sent_at,
        oldest_days=settings.raw_retention_days if access.admin else settings.max_backdate_days,
        sellers=None if access.admin else access.sellers,
        trust=Trust.MOVE if access.admin else Trust.FIRST,
    )
    return RecordEventsResult(
        accepted=receipt.accepted,
        duplicates=receipt.duplicates,
        rejected=[EventRejection(index=i, reason=r) for i, r in receipt.rejected],
    )


async def gig_claims(
    info: Ctx,
    limit: Annotated[
        int, strawberry.argument(description=f"How many, 1 to {MAX_REJECTIONS}.")
    ] = 50,
) -> list[GigClaim]:
    ctx = info.context
    require_admin(await ctx.access(), "gigClaims")
    _check_limit(limit, "claims")
    return [GigClaim.of(c) for c in await ctx.service.gig_claims(limit)]


async def set_gig_owner(info: Ctx, gig_id: GigIdArg, seller_id: SellerIdArg) -> GigOwner:
    ctx = info.context
    require_admin(await ctx.access(), "setGigOwner")
    for name, value in (("gigId", str(gig_id)), ("sellerId", str(seller_id))):
        if not GIG_ID.fullmatch(value):
            raise QueryError(f"{name} must be {GIG_RULE}.")
    await ctx.service.set_owner(str(gig_id), str(seller_id))
    return GigOwner(gig_id=gig_id, seller_id=seller_id)


def _span(ctx: Context, range_: DateRangeInput | None, time_zone: str | None) -> Span:
    if range_ is None:
        return ctx.service.span(None, None, time_zone)
    return ctx.service.span(range_.from_, range_.to, time_zone)


def _connection(page: Page[Any], nodes: list[tuple[str, GigMetrics]]) -> GigMetricsConnection:
    return GigMetricsConnection(
        edges=[GigMetricsEdge(cursor=cursor, node=node) for cursor, node in nodes],
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=nodes[0][0] if nodes else None,
            end_cursor=nodes[-1][0] if nodes else None,
        ),
        total_count=page.total,
    )


def _check_limit(limit: int, what: str) -> None:
    """The admin lists take 1 to MAX_REJECTIONS rows."""
    if not 1 <= limit <= MAX_REJECTIONS:
        raise QueryError(f"limit is {limit}: ask for 1 to {MAX_REJECTIONS} {what}.")
