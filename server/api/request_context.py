"""Per-request state: the service, the caller's access (looked up once), batch loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from ..service import MetricsService
from ..settings import Settings
from .auth import Access, authenticate, require_gigs
from .loaders import (
    ContextLoader,
    ReportLoader,
    SellerLoader,
    SplitLoader,
    TotalsLoader,
    context_loader,
    report_loader,
    seller_loader,
    split_loader,
    totals_loader,
)

if TYPE_CHECKING:
    from ..live import LiveUpdates


@dataclass
class Context:
    """What resolvers get as `info.context` (one per HTTP request, or per WebSocket
    connection for subscriptions)."""

    request: Request | WebSocket
    response: Response | WebSocket
    settings: Settings
    service: MetricsService
    reports: ReportLoader
    sellers: SellerLoader
    totals: TotalsLoader
    contexts: ContextLoader
    splits: SplitLoader
    _access: asyncio.Task[Access] | None = field(default=None, repr=False)
    # A WebSocket's `connection_init` payload (strawberry sets it); it carries the key.
    connection_params: dict[str, Any] | None = None
    live: LiveUpdates | None = None

    @classmethod
    def build(
        cls,
        request: Request | WebSocket,
        response: Response | WebSocket,
        service: MetricsService,
        settings: Settings,
        live: LiveUpdates | None = None,
    ) -> Context:
        """A fresh context: nothing is cached across requests."""
        return cls(
            request,
            response,
            settings,
            service,
            report_loader(service),
            seller_loader(service),
            totals_loader(service),
            context_loader(service),
            split_loader(service),
            live=live,
        )

    def renew(self, service: MetricsService) -> None:
        """Read afresh from now on (a subscription's next update): new service, empty
        loaders. The caller's access stays."""
        self.service = service
        self.reports = report_loader(service)
        self.sellers = seller_loader(service)
        self.totals = totals_loader(service)
        self.contexts = context_loader(service)
        self.splits = split_loader(service)

    def authorization(self) -> str | None:
        """The key as sent: the `Authorization` header, or on a WebSocket the
        `Authorization` entry of `connection_init`'s payload (any letter case)."""
        for name, value in (self.connection_params or {}).items():
            if name.lower() == "authorization" and isinstance(value, str):
                return value
        return self.request.headers.get("authorization")

    async def access(self) -> Access:
        """The caller's access; the key is looked up at most once per request."""
        if self._access is None:
            header = self.authorization()
            self._access = asyncio.ensure_future(
                authenticate(header, self.service.store, self.settings)
            )
        return await self._access

    async def sellers_of(self, gigs: Sequence[str]) -> dict[str, str | None]:
        """The known seller of each gig (None: none known), batched and cached per request."""
        found = await self.sellers.load_many(gigs)
        return dict(zip(gigs, found, strict=True))

    async def require_readable(self, access: Access, gigs: Sequence[str]) -> None:
        """Refuse gigs of sellers this key may not read (a partner never sees zeros instead)."""
        if access.admin:
            return
        known = await self.sellers_of(gigs)
        require_gigs(access, gigs, {g: s for g, s in known.items() if s is not None})

    async def visible(self, access: Access, gigs: Sequence[str]) -> list[str]:
        """The gigs whose current seller this key may read, in order."""
        if access.admin:
            return list(gigs)
        known = await self.sellers_of(gigs)
        return [g for g in gigs if (s := known[g]) is not None and access.may_read_seller(s)]
