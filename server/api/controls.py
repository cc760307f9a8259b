"""Data controls (admin key only): delete everything of one gig or one seller."""

from __future__ import annotations

import strawberry

from ..stores.base import DeletedData
from .auth import require_admin
from .resolvers import Ctx, GigIdArg, SellerIdArg


@strawberry.type(description="How many records a deletion removed, by kind.")
class DeletedDataResult:
    gigs: int = strawberry.field(description="Gig records (owner and listing entries).")
    events: int = strawberry.field(description="Raw events.")
    impressions: int = strawberry.field(description="Impression states.")
    page_views: int = strawberry.field(description="Counted page loads.")
    rollups: int = strawberry.field(description="15-minute rollup rows.")
    context_rollups: int = strawberry.field(description="Rollup rows by search or category.")
    context_days: int = strawberry.field(description="Kept contexts per day.")
    rejections: int = strawberry.field(description="Rejected events that named it.")
    invalid_rollups: int = strawberry.field(
        description="Rollup rows of invalid traffic (kept, never counted) by reason."
    )
    gig_claims: int = strawberry.field(
        description="Ownership claims kept for the admin: on these gigs, or by this seller."
    )
    split_rollups: int = strawberry.field(
        description="Rollup rows by variant, device and currency."
    )
    variant_days: int = strawberry.field(description="Kept variants per day.")

    @classmethod
    def of(cls, deleted: DeletedData) -> DeletedDataResult:
        """Map the store's counts."""
        return cls(
            gigs=deleted.gigs,
            events=deleted.events,
            impressions=deleted.impressions,
            page_views=deleted.page_views,
            rollups=deleted.rollups,
            context_rollups=deleted.context_rollups,
            context_days=deleted.context_days,
            rejections=deleted.rejections,
            invalid_rollups=deleted.invalid_rollups,
            gig_claims=deleted.gig_claims,
            split_rollups=deleted.split_rollups,
            variant_days=deleted.variant_days,
        )


async def delete_gig_data(info: Ctx, gig_id: GigIdArg) -> DeletedDataResult:
    ctx = info.context
    require_admin(await ctx.access(), "deleteGigData")
    return DeletedDataResult.of(await ctx.service.delete_gig(str(gig_id)))


async def delete_seller_data(info: Ctx, seller_id: SellerIdArg) -> DeletedDataResult:
    ctx = info.context
    require_admin(await ctx.access(), "deleteSellerData")
    return DeletedDataResult.of(await ctx.service.delete_seller(str(seller_id)))
