"""Per-request state: the service, the caller's access (looked up once), batch loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response

from ..service import MetricsService
from ..settings import Settings
from .auth import Access, authenticate, require_gigs
from .loaders import (
    ContextLoader,
    ReportLoader,
    SellerLoader,
    TotalsLoader,
    context_loader,
    report_loader,
    seller_loader,
    totals_loader,
)


@dataclass
class Context:
    """What resolvers get as `info.context`."""

    request: Request
    response: Response
    settings: Settings
    service: MetricsService
    reports: ReportLoader
    sellers: SellerLoader
    totals: TotalsLoader
    contexts: ContextLoader
    _access: asyncio.Task[Access] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls, request: Request, response: Response, service: MetricsService, settings: Settings
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
        )

    async def access(self) -> Access:
        """The caller's access; the key is looked up at most once per request."""
        if self._access is None:
            header = self.request.headers.get("authorization")
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
