"""`GET /sdk.js` (placeholder until the snippet lands)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def sdk_route() -> Route:
    """`/sdk.js` (placeholder)."""

    async def endpoint(request: Request) -> Response:
        return Response("", media_type="application/javascript")

    return Route("/sdk.js", endpoint, methods=["GET", "HEAD"])
