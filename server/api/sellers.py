"""A seller's dashboard figures: all its gigs (that the key may read) summed as one."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from ..counting import metrics
from ..service import Span
from .enums import SurfaceName
from .metric_fields import MetricsFields, measured
from .request_context import Context
from .search_contexts import ContextMetrics, FirstContextsArg, check_first
from .types import (
    BY_CONTEXT_NOTE,
    PREVIOUS_NOTE,
    DailyMetrics,
    SurfaceMetrics,
    TimeWindow,
    contexts_of,
)


async def _previous_period(root: SellerMetrics, info: Info[Context, None]) -> SellerMetrics | None:
    previous = info.context.service.previous(root.span)
    if previous is None:
        return None
    return await SellerMetrics.load(info.context, str(root.seller_id), root.gigs, previous)


async def _by_context(
    root: SellerMetrics,
    info: Info[Context, None],
    first: FirstContextsArg = 10,
    surface: Annotated[
        SurfaceName | None, strawberry.argument(description="Only this surface's contexts.")
    ] = None,
) -> list[ContextMetrics]:
    count = check_first(first)
    found = await info.context.service.contexts(root.gigs, root.span)
    return contexts_of([row for rows in found.values() for row in rows], count, surface)


@strawberry.type(
    description="A seller's gigs summed as one over a window: totals, daily series, surfaces, "
    "contexts (only gigs whose seller is known count)."
)
class SellerMetrics(MetricsFields):
    seller_id: strawberry.ID = strawberry.field(description="The seller's id.")
    gig_count: int = strawberry.field(description="How many gigs of the seller are summed.")
    window: TimeWindow = strawberry.field(description="The window these metrics cover.")
    daily: list[DailyMetrics] = strawberry.field(
        description="One entry for every local day the window touches, oldest first, "
        "zero-filled; clicks count click surfaces only."
    )
    by_surface: list[SurfaceMetrics] = strawberry.field(
        description="One entry per surface (all five, zero-filled); clicks here are every "
        "click made on that surface."
    )
    previous_period: SellerMetrics | None = strawberry.field(
        resolver=_previous_period, description=PREVIOUS_NOTE
    )
    by_context: list[ContextMetrics] = strawberry.field(
        resolver=_by_context, description=BY_CONTEXT_NOTE
    )
    span: strawberry.Private[Span]
    gigs: strawberry.Private[list[str]]

    @classmethod
    async def load(
        cls, ctx: Context, seller: str, gigs: list[str], span: Span
    ) -> SellerMetrics:
        """The seller's figures over `span`: one store read of per-day sums."""
        found: metrics.GigReport = await ctx.service.combined_report(seller, gigs, span)
        return cls(
            seller_id=strawberry.ID(seller),
            gig_count=len(gigs),
            window=TimeWindow.of(span),
            daily=[DailyMetrics.of(day) for day in found.daily],
            by_surface=[SurfaceMetrics.of(item) for item in found.by_surface],
            span=span,
            gigs=gigs,
            **measured(found.total),
        )
