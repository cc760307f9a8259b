"""The GraphQL enums: surfaces and ranking orders."""

from __future__ import annotations

from enum import Enum

import strawberry

from ..counting.metrics import Order
from ..model import Surface as WireSurface


@strawberry.enum(name="Surface", description="Where a listing showing gig tiles is.")
class SurfaceName(Enum):
    SEARCH = strawberry.enum_value("search", description="Search results (a click surface).")
    CATEGORY = strawberry.enum_value(
        "category", description="A category listing (a click surface)."
    )
    HOMEPAGE = strawberry.enum_value("homepage", description="The marketplace's homepage.")
    USER_PAGE = strawberry.enum_value("user_page", description="A seller's profile page.")
    OTHER = strawberry.enum_value(
        "other", description="Anywhere else; page views not explained by a listing click."
    )

    @classmethod
    def of(cls, surface: WireSurface) -> SurfaceName:
        """The GraphQL value of a wire surface."""
        return cls[surface.name]


@strawberry.enum(name="GigOrder", description="What a ranking of gigs sorts by, largest first.")
class GigOrder(Enum):
    CLICKS = strawberry.enum_value("clicks", description="Clicks from click surfaces.")
    CTR = strawberry.enum_value(
        "ctr", description="Click-through rate; gigs without impressions come last."
    )
    SERVED_IMPRESSIONS = strawberry.enum_value("served", description="Served impressions.")
    VIEWABLE_IMPRESSIONS = strawberry.enum_value(
        "viewable", description="Viewable impressions."
    )
    VIEWS = strawberry.enum_value("views", description="Gig page views not from a click.")
    VIEWABLE_CTR = strawberry.enum_value(
        "viewable_ctr", description="Viewable CTR; gigs without viewable impressions come last."
    )
    VIEWABILITY_RATE = strawberry.enum_value(
        "viewability_rate",
        description="Viewability rate; gigs without impressions come last.",
    )
    AVERAGE_POSITION = strawberry.enum_value(
        "average_position",
        description="Average position, best (smallest) first; gigs without one come last.",
    )

    @property
    def order(self) -> Order:
        """The service's ranking order."""
        return Order[self.name]
