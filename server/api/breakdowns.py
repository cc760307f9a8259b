"""`variants`, `byDevice` and `revenue` of a gig: listing experiments with their verdict,
devices, and orders' value per currency, read from split rollups."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from ..counting import breakdowns
from ..counting.experiments import ALPHA
from ..counting.metrics import rate
from ..counting.splits import VARIANTS_PER_DAY
from ..model import Device as WireDevice
from .metric_fields import rate_field
from .request_context import Context

if TYPE_CHECKING:
    from .types import GigMetrics


@strawberry.enum(
    name="Device",
    description="The kind of device that showed a tile, from the User-Agent of the request "
    "that carried its served event.",
)
class DeviceName(Enum):
    DESKTOP = strawberry.enum_value("desktop", description="A desktop or laptop browser.")
    MOBILE = strawberry.enum_value("mobile", description="A phone.")
    TABLET = strawberry.enum_value("tablet", description="A tablet.")
    OTHER = strawberry.enum_value(
        "other",
        description="Not known (events a backend reported through recordEvents), or a TV, "
        "console or other device.",
    )

    @classmethod
    def of(cls, device: WireDevice) -> DeviceName:
        """The GraphQL value of a device class."""
        return cls[device.name]


@strawberry.type(description="Orders' value in one currency over the window.")
class Revenue:
    currency: str = strawberry.field(description="ISO 4217 code, e.g. USD.")
    amount: float = strawberry.field(
        description="The sum of the orders' values, in the currency's major unit (summed "
        "exactly in thousandths of it)."
    )
    orders: int = strawberry.field(description="Orders in this currency.")


@strawberry.type(
    description="One version of a gig's tile (data-gm-variant) over the window, against the "
    "baseline. The window's first day is the experiment's start: each day's cumulative counts "
    f"are one look of a sequential test (mSPRT) valid however often it is read, at {ALPHA:.0%}."
)
class VariantMetrics:
    variant: str = strawberry.field(
        description="The variant's name; an empty string on the row that sums the variants "
        f"past the {VARIANTS_PER_DAY} kept per gig and UTC day (never compared)."
    )
    served_impressions: int = strawberry.field(description="Served impressions of it.")
    viewable_impressions: int = strawberry.field(description="Viewable impressions of it.")
    clicks: int = strawberry.field(
        description="Clicks on its impressions (every surface, as in SurfaceMetrics)."
    )
    ctr: float | None = rate_field("clicks", "servedImpressions")
    viewable_ctr: float | None = rate_field("clicks", "viewableImpressions")
    orders: int = strawberry.field(description="Orders attributed to its impressions.")
    is_baseline: bool = strawberry.field(
        description="True for the baseline: the variant named by `baseline`, else the most "
        "served."
    )
    ctr_change: float | None = strawberry.field(
        description="Relative change of ctr against the baseline's, in %; null for the "
        "baseline or when the baseline's ctr is null or 0."
    )
    ctr_change_low: float | None = strawberry.field(
        description="Low end of the always-valid 95 % interval of ctrChange, in %; null "
        "before the minimum sample."
    )
    ctr_change_high: float | None = strawberry.field(
        description="High end of the always-valid 95 % interval of ctrChange, in %; null "
        "before the minimum sample."
    )
    p_value: float | None = strawberry.field(
        description="The always-valid p-value of a CTR difference from the baseline (valid "
        "at every look); null for the baseline and the summed row."
    )
    significant: bool = strawberry.field(
        description=f"True when the CTR differs from the baseline's at {ALPHA:.0%} by the "
        "sequential test; false with too few impressions to tell."
    )
    verdict: str = strawberry.field(
        description='The verdict in words: "B gets more clicks — this is not chance", "too '
        'early to tell", "no difference so far", "the baseline".'
    )

    @classmethod
    def of(cls, item: breakdowns.VariantFigures) -> VariantMetrics:
        """Map one variant of a breakdown."""
        t, c = item.tally, item.comparison
        span = None if c is None else c.ctr_change_interval
        return cls(
            variant=item.variant,
            served_impressions=t.served,
            viewable_impressions=t.viewable,
            clicks=t.clicks,
            ctr=rate(t.clicks, t.served),
            viewable_ctr=rate(t.clicks, t.viewable),
            orders=t.orders,
            is_baseline=item.is_baseline,
            ctr_change=None if c is None or item.is_baseline else c.ctr_change,
            ctr_change_low=None if span is None else span[0],
            ctr_change_high=None if span is None else span[1],
            p_value=None if c is None or item.is_baseline else c.p_value,
            significant=c is not None and c.significant,
            verdict=item.verdict,
        )


@strawberry.type(description="A gig's impressions shown on one kind of device over the window.")
class DeviceMetrics:
    device: DeviceName = strawberry.field(description="The kind of device.")
    served_impressions: int = strawberry.field(description="Served impressions on it.")
    viewable_impressions: int = strawberry.field(description="Viewable impressions on it.")
    clicks: int = strawberry.field(
        description="Clicks on its impressions (every surface, as in SurfaceMetrics)."
    )
    ctr: float | None = rate_field("clicks", "servedImpressions")
    viewable_ctr: float | None = rate_field("clicks", "viewableImpressions")
    viewability_rate: float | None = rate_field("viewableImpressions", "servedImpressions")
    orders: int = strawberry.field(
        description="Orders of its impressions, and orders without a known impression "
        "reported from it."
    )

    @classmethod
    def of(cls, item: breakdowns.DeviceFigures) -> DeviceMetrics:
        """Map one device of a breakdown."""
        t = item.tally
        return cls(
            device=DeviceName.of(item.device),
            served_impressions=t.served,
            viewable_impressions=t.viewable,
            clicks=t.clicks,
            ctr=item.ctr,
            viewable_ctr=item.viewable_ctr,
            viewability_rate=item.viewability_rate,
            orders=t.orders,
        )


BaselineArg = Annotated[
    str | None,
    strawberry.argument(
        description="The variant to compare the others with; default (or when it was not "
        "seen): the most served."
    ),
]


async def variants_of(
    root: GigMetrics, info: Info[Context, None], baseline: BaselineArg = None
) -> list[VariantMetrics]:
    """`GigMetrics.variants`."""
    rows = await info.context.splits.load((str(root.gig_id), root.span))
    found = breakdowns.variants(rows, root.span.window.day_starts, baseline)
    return [VariantMetrics.of(item) for item in found]


async def devices_of(root: GigMetrics, info: Info[Context, None]) -> list[DeviceMetrics]:
    """`GigMetrics.byDevice`."""
    rows = await info.context.splits.load((str(root.gig_id), root.span))
    return [DeviceMetrics.of(item) for item in breakdowns.devices(rows)]


async def revenue_of(root: GigMetrics, info: Info[Context, None]) -> list[Revenue]:
    """`GigMetrics.revenue`."""
    rows = await info.context.splits.load((str(root.gig_id), root.span))
    return [Revenue(currency=r.currency, amount=r.amount, orders=r.orders)
            for r in breakdowns.revenue(rows)]
