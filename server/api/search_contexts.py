"""`byContext`: which searches and categories showed a gig (Search Console's Queries report)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..counting import metrics
from ..counting.rules import CONTEXTS_PER_DAY
from ..errors import QueryError
from .enums import SurfaceName
from .metric_fields import rate_field, rates

MAX_CONTEXTS = 100


@strawberry.type(
    description="The impressions one search query or category (the listing's data-gm-context) "
    "on one surface showed, over the window."
)
class ContextMetrics:
    context: str = strawberry.field(
        description="The search query or category slug; an empty string on the row that sums "
        f"the contexts past the {CONTEXTS_PER_DAY} kept per gig and UTC day (isOther)."
    )
    is_other: bool = strawberry.field(
        description=f"True for the row summing contexts past the {CONTEXTS_PER_DAY} kept per "
        "gig and UTC day."
    )
    surface: SurfaceName = strawberry.field(description="The surface of these listings.")
    served_impressions: int = strawberry.field(description="Served impressions in this context.")
    viewable_impressions: int = strawberry.field(
        description="Viewable impressions in this context."
    )
    clicks: int = strawberry.field(
        description="Every click on these impressions (also on surfaces that are not click "
        "surfaces, as in SurfaceMetrics)."
    )
    ctr: float | None = rate_field("clicks", "servedImpressions")
    viewable_ctr: float | None = rate_field("clicks", "viewableImpressions")
    viewability_rate: float | None = rate_field("viewableImpressions", "servedImpressions")
    average_position: float | None = strawberry.field(
        description="Mean 1-based position of the tile in these listings; null when unknown."
    )
    orders: int = strawberry.field(
        description="Orders attributed to these impressions: the searches that sell."
    )

    @classmethod
    def of(cls, item: metrics.ContextFigures) -> ContextMetrics:
        """Map one context of a breakdown."""
        m = item.metrics
        return cls(
            context=item.context,
            is_other=item.is_other,
            surface=SurfaceName.of(item.surface),
            served_impressions=m.served,
            viewable_impressions=m.viewable,
            clicks=m.clicks,
            average_position=m.average_position,
            orders=m.orders,
            **rates(m),
        )


FirstContextsArg = Annotated[
    int | None,
    strawberry.argument(description=f"How many contexts, largest first; 1 to {MAX_CONTEXTS}."),
]


DEFAULT_CONTEXTS = 10


def check_first(first: int | None) -> int:
    """`first` (default 10), refused outside 1..MAX_CONTEXTS with what to ask instead."""
    if first is None:
        return DEFAULT_CONTEXTS
    if not 1 <= first <= MAX_CONTEXTS:
        raise QueryError(f"first is {first}: ask for 1 to {MAX_CONTEXTS} contexts.")
    return first
