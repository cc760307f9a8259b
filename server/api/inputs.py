"""The GraphQL inputs and shared arguments: what callers send."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry


@strawberry.input(description="Whole local days, both included, in the query's time zone.")
class DateRangeInput:
    from_: date = strawberry.field(name="from", description="First day (YYYY-MM-DD).")
    to: date = strawberry.field(description="Last day (YYYY-MM-DD), included.")


@strawberry.input(
    description="One event, with exactly the fields and JSON values of a POST /collect event."
)
class EventInput:
    id: str = strawberry.field(
        description="Unique event id, 8-64 characters of A-Z a-z 0-9 _ -; the dedupe key."
    )
    type: str = strawberry.field(description="One of served, viewable, click, view, order.")
    gig: str = strawberry.field(description="Gig id, 1-64 characters of A-Z a-z 0-9 _ . : -.")
    seller: str | None = strawberry.field(
        default=None, description="Seller id of the gig (required with a partner key)."
    )
    imp: str | None = strawberry.field(
        default=None,
        description="Impression id; required on served, viewable and click; on an order, the "
        "impression whose click led to it (optional).",
    )
    pv: str | None = strawberry.field(default=None, description="Page-view id of a gig page.")
    surface: str | None = strawberry.field(
        default=None,
        description="search, category, homepage, user_page or other; required on served "
        "and click.",
    )
    context: str | None = strawberry.field(
        default=None, description="Search query or category slug, at most 128 characters."
    )
    position: int | None = strawberry.field(
        default=None, description="1-based position of the tile in its listing."
    )
    ts: float = strawberry.field(description="When it happened, epoch milliseconds.")
    sig: str | None = strawberry.field(
        default=None,
        description="The listing's or page's signature token (data-gm-sig), as the snippet "
        "sends it; checked on /collect when signing is on, kept as is here.",
    )
    variant: str | None = strawberry.field(
        default=None,
        description="On a served event: which version of the tile this render showed "
        "(data-gm-variant), 1-32 characters of A-Z a-z 0-9 _ . : -.",
    )
    value: float | None = strawberry.field(
        default=None,
        description="On an order: its value (>= 0) in the major unit of currency; with "
        "currency or not at all.",
    )
    currency: str | None = strawberry.field(
        default=None,
        description="On an order: the ISO 4217 code of value (three capital letters, e.g. "
        "USD); with value or not at all.",
    )

    def as_wire(self) -> dict[str, Any]:
        """The event as `/collect` JSON, unset fields left out."""
        fields = {
            "id": self.id,
            "type": self.type,
            "gig": self.gig,
            "seller": self.seller,
            "imp": self.imp,
            "pv": self.pv,
            "surface": self.surface,
            "context": self.context,
            "position": self.position,
            "ts": self.ts,
            "sig": self.sig,
            "variant": self.variant,
            "value": self.value,
            "currency": self.currency,
        }
        return {name: value for name, value in fields.items() if value is not None}


RangeArg = Annotated[
    DateRangeInput | None,
    strawberry.argument(
        name="range",
        description="Whole local days to cover; by default the rolling last 30 days.",
    ),
]
TimeZoneArg = Annotated[
    str | None,
    strawberry.argument(
        description="IANA time zone the days are cut in, e.g. Asia/Kolkata; default UTC."
    ),
]
