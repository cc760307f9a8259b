"""The GraphQL API at `/graphql`: schema, auth, limits, batched reads."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from ..assets import Assets
from ..ingest import now_ms
from ..service import MetricsService
from ..settings import Settings
from ..stores.base import Store
from .context import Context
from .schema import schema


class GigmetricsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a gigmetrics context per request."""

    def __init__(self, store: Store, settings: Settings, assets: Assets | None = None) -> None:
        super().__init__(schema, graphql_ide="graphiql" if settings.graphiql else None)
        self.store = store
        self.settings = settings
        self.assets = assets or Assets()

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our own GraphiQL build (sdk_js/graphiql): strawberry's page loads it from a CDN.
        return self.assets.page("graphiql.html")

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request) and isinstance(response, Response)  # no websockets
        service = MetricsService(self.store, self.settings, now_ms())
        return Context.build(request, response, service, self.settings)


MAX_GRAPHQL_BODY_BYTES = 256 * 1024


class BodyLimit:
    """Refuse request bodies over a size with `413` before strawberry reads them whole."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = (
            f"the request body is over {self.limit} bytes: send smaller queries, "
            "or at most 100 events per recordEvents call"
        )
        response = JSONResponse({"errors": [{"message": message}]}, status_code=413)
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def graphql_route(store: Store, settings: Settings, assets: Assets | None = None) -> Route:
    """`/graphql`: POST (and GET) queries; GraphiQL on GET when `settings.graphiql`."""
    app: ASGIApp = BodyLimit(
        GigmetricsGraphQL(store, settings, assets), MAX_GRAPHQL_BODY_BYTES
    )
    if settings.api_origins:
        # Browser dashboards send the key in a header, never a cookie: no credentials.
        app = CORSMiddleware(
            app,
            allow_origins=list(settings.api_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["authorization", "content-type"],
            max_age=86400,
        )
    return Route("/graphql", app, methods=["GET", "POST", "OPTIONS"])


def schema_sdl() -> str:
    """The schema in SDL, as `gigmetrics schema` prints it and `schema.graphql` holds it."""
    return str(schema).rstrip("\n") + "\n"
