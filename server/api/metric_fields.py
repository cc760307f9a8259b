"""The `Metrics` interface and the rate fields every metrics type of the schema shares."""

from __future__ import annotations

from typing import Any

import strawberry

from ..counting import metrics

_RATE_NOTE = "null when there is nothing to divide by (never 0 or NaN)."


def rate_field(numerator: str, denominator: str) -> Any:
    """A percent field `100 * numerator / denominator` (schema names), described alike
    everywhere."""
    return strawberry.field(
        description=f"Percent: 100 * {numerator} / {denominator}; {_RATE_NOTE}"
    )


def rates(m: metrics.Metrics) -> dict[str, Any]:
    """The values of the `rate_field`s, as `metrics.Metrics` computes them."""
    return {"ctr": m.ctr, "viewable_ctr": m.viewable_ctr, "viewability_rate": m.viewability_rate}


@strawberry.interface(
    name="Metrics",
    description="Counts and rates of one gig over some stretch of time or on one surface.",
)
class MetricsFields:
    served_impressions: int = strawberry.field(
        description="Times a tile of the gig was rendered in a listing (one per impression)."
    )
    viewable_impressions: int = strawberry.field(
        description="Served impressions that were seen: at least 50 % of the tile in view "
        "for 1 continuous second in a visible tab (MRC), or clicked."
    )
    clicks: int = strawberry.field(
        description="Impressions clicked through to the gig page from a click surface "
        "(search and category by default); at most one per impression."
    )
    views: int = strawberry.field(
        description="Loads of the gig's page that did not come from a click on a click "
        "surface (profile page, homepage, other sites, bookmarks, reloads)."
    )
    ctr: float | None = rate_field("clicks", "servedImpressions")
    viewable_ctr: float | None = rate_field("clicks", "viewableImpressions")
    viewability_rate: float | None = rate_field("viewableImpressions", "servedImpressions")
    average_position: float | None = strawberry.field(
        description="Mean 1-based position of the tile in its listing, over the served "
        "impressions that carried one; null when none did."
    )
    orders: int = strawberry.field(
        description="Orders (each order id once): those naming a shown impression count "
        "under its day and surface (by the time it was shown), the rest under the day they "
        "came and surface OTHER."
    )


def measured(m: metrics.Metrics) -> dict[str, Any]:
    """The `Metrics` interface fields of a `metrics.Metrics` (rates computed there)."""
    return {
        "served_impressions": m.served,
        "viewable_impressions": m.viewable,
        "clicks": m.clicks,
        "views": m.views,
        **rates(m),
        "average_position": m.average_position,
        "orders": m.orders,
    }
