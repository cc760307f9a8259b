"""Live updates: `gigMetricsUpdates` over graphql-transport-ws on `/graphql`.

Glue like the other resolvers: check access, wait on the process's hub (`server/live.py`),
read the gig's metrics afresh, send them when they differ from the last ones sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import strawberry

from ..counting.metrics import GigReport
from ..errors import QueryError, StoreUnavailable
from ..model import now_ms
from ..service import MetricsService, Span
from .auth import authenticate
from .inputs import TimeZoneArg
from .resolvers import Ctx, GigIdArg
from .types import GigMetrics

# A store that stops answering mid-subscription: read again after this, keep the socket.
RETRY_READ_AFTER_S = 1.0


async def gig_metrics_updates(
    info: Ctx, gig_id: GigIdArg, time_zone: TimeZoneArg = None
) -> AsyncGenerator[GigMetrics, None]:
    ctx = info.context
    if ctx.live is None:
        raise QueryError("live updates are not available on this server.")
    access = await ctx.access()
    gig = str(gig_id)
    ctx.service.span(None, None, time_zone)  # an unknown time zone fails now, not later
    await ctx.require_readable(access, [gig])
    # Caps count per key by its id, never by the header as sent (`bearer`, spaces, case).
    async with ctx.live.subscribe(gig, access.key_id or "?") as subscription:
        last: tuple[Span, GigReport] | None = None
        while True:
            try:
                span, report = await _read(info, gig, time_zone)
            except StoreUnavailable:
                await asyncio.sleep(RETRY_READ_AFTER_S)
                continue
            if (span, report) != last:
                last = span, report
                yield GigMetrics.of(gig, report.total, span)
            await subscription.changed()


async def _read(info: Ctx, gig: str, time_zone: str | None) -> tuple[Span, GigReport]:
    """The gig's report now, after checking again that the key may still read it (it may
    have been revoked, or the gig may have changed owner, since the last update)."""
    ctx = info.context
    old = ctx.service
    ctx.renew(MetricsService(old.store, old.settings, now_ms(), health=old.health))
    access = await authenticate(ctx.authorization(), ctx.service.store, ctx.settings)
    await ctx.require_readable(access, [gig])
    span = ctx.service.span(None, None, time_zone)
    # Loaded through the context's loader, so daily and bySurface reuse this one read.
    return span, await ctx.reports.load((gig, span))


@strawberry.type(
    description="Live updates over the graphql-transport-ws protocol on /graphql. Send the "
    "key in connection_init's payload: {\"Authorization\": \"Bearer <key>\"}."
)
class Subscription:
    gig_metrics_updates: AsyncGenerator[GigMetrics, None] = strawberry.subscription(
        resolver=gig_metrics_updates,
        description="One gig's metrics over the rolling last 30 days: sent at once, then "
        "again within a second of any change stored by any server process (at most about "
        "four times a second). Same access rules as gigMetrics.",
    )
