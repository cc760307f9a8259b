"""The GraphQL API at `/graphql`: schema, auth, limits, batched reads."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ..ingest import now_ms
from ..service import MetricsService
from ..settings import Settings
from ..stores.base import Store
from .context import Context
from .schema import schema


class GigmetricsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a gigmetrics context per request."""

    def __init__(self, store: Store, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.store = store
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request) and isinstance(response, Response)  # no websockets
        service = MetricsService(self.store, self.settings, now_ms())
        return Context.build(request, response, service, self.settings)


def graphql_route(store: Store, settings: Settings) -> Route:
    """`/graphql`: POST (and GET) queries; GraphiQL on GET when `settings.graphiql`."""
    return Route("/graphql", GigmetricsGraphQL(store, settings), methods=["GET", "POST"])


def schema_sdl() -> str:
    """The schema in SDL, as `gigmetrics schema` prints it and `schema.graphql` holds it."""
    return str(schema).rstrip("\n") + "\n"
