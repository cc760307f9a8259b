"""GraphQL API (placeholder until the API lands)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..settings import Settings
from ..stores.base import Store


def graphql_route(store: Store, settings: Settings) -> Route:
    """`/graphql` (placeholder)."""

    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"errors": [{"message": "not built yet"}]}, 501)

    return Route("/graphql", endpoint, methods=["GET", "POST"])
