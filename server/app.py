"""The Starlette application: collector, GraphQL API, snippet, probes and demo pages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from .api import graphql_routes
from .assets import Assets, asset_routes
from .collect import Collector
from .compression import Compression
from .demo import demo_routes
from .health import StoreHealth, health_routes
from .live import LiveUpdates
from .model import DAY_MS, now_ms
from .observability import LIVE_SUBSCRIPTIONS, metrics_route
from .request_log import RequestLog, configure_logging
from .sdk import sdk_route
from .settings import Settings
from .stores import open_store
from .stores.base import Store

log = logging.getLogger("gigmetrics")

PURGE_EVERY_S = 3600.0
# Retention is not urgent to the minute: a server that just started serves first.
PURGE_FIRST_AFTER_S = 600.0


def create_app(settings: Settings | None = None, store: Store | None = None) -> Starlette:
    """Build the app; the store is opened on startup and closed on shutdown."""
    settings = settings or Settings.from_env()
    store = store or open_store(
        settings.database_url,
        sqlite_writer=settings.sqlite_writer,
        sqlite_synchronous=settings.sqlite_synchronous,
        mongo_partition_groups=settings.mongo_partition_groups,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await store.open()
        purger = asyncio.create_task(_purge_forever(store, settings))
        try:
            yield
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            await live.close()
            await store.close()

    health = StoreHealth(store)
    collector = Collector(store, settings, health)
    assets = Assets()
    live = LiveUpdates(
        store,
        max_per_key=settings.live_max_per_key,
        max_total=settings.live_max_subscriptions,
        on_count=LIVE_SUBSCRIPTIONS.set,
    )
    routes: list[BaseRoute] = [
        # A bound method, so Starlette wraps it as a request handler (an instance is ASGI).
        Route("/collect", collector.__call__, methods=["POST", "OPTIONS"]),
        *graphql_routes(store, settings, assets, health, live),
        sdk_route(),
        *asset_routes(assets),
        *health_routes(health),
    ]
    if settings.metrics == "main":
        routes.append(metrics_route(settings.admin_key))
    if settings.demo:
        routes.extend(demo_routes(settings))
    app = Starlette(
        routes=routes, lifespan=lifespan,
        middleware=[Middleware(RequestLog), Middleware(Compression)],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.health = health
    app.state.live = live
    return app


def app_from_env() -> Starlette:
    """The app of a worker process started by `gigmetrics serve --workers N` (uvicorn imports
    it by name in each worker), with logging set up as the command line asked."""
    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


async def purge_once(store: Store, settings: Settings, now: int) -> None:
    """Apply the retention settings once."""
    await store.purge(
        raw_before=now - settings.raw_retention_days * DAY_MS,
        buckets_before=now - settings.bucket_retention_days * DAY_MS,
    )


async def _purge_forever(store: Store, settings: Settings) -> None:
    await asyncio.sleep(PURGE_FIRST_AFTER_S)
    while True:
        try:
            await purge_once(store, settings, now_ms())
        except Exception:  # retention is best effort; the next round tries again
            log.exception("purging old data failed")
        await asyncio.sleep(PURGE_EVERY_S)
