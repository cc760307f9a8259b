"""The GraphQL API at `/graphql`: schema, auth, limits, batched reads."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from ..assets import Assets
from ..health import StoreHealth
from ..live import LiveUpdates
from ..model import now_ms
from ..service import MetricsService
from ..settings import Settings
from ..stores.base import Store
from . import http, websocket
from .documents import DocumentError, Documents, load_trusted
from .request_context import Context
from .schema import schema

log = logging.getLogger("gigmetrics.graphql")


# A WebSocket must send connection_init this soon after opening, or it is closed (4408).
CONNECTION_INIT_TIMEOUT = timedelta(seconds=5)


class GigmetricsGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI app with a gigmetrics context per request (per operation on a
    WebSocket), GraphQL over HTTP done by the spec (`http.py`), persisted and batched
    queries."""

    graphql_transport_ws_handler_class = websocket.TransportWS

    def __init__(
        self,
        store: Store,
        settings: Settings,
        assets: Assets | None = None,
        health: StoreHealth | None = None,
        live: LiveUpdates | None = None,
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            # Subscriptions: the pinned protocol only; the key comes in connection_init.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=settings.live_max_per_key,
            # Browsers do not apply CORS to WebSockets: pages of other origins may connect
            # only when GIGMETRICS_API_ORIGINS lists them (same-origin pages always may).
            allowed_origins=settings.api_origins,
        )
        self.store = store
        self.settings = settings
        self.assets = assets or Assets()
        self.health = health
        self.live = live
        self.documents = Documents(
            load_trusted(settings.trusted_documents) if settings.trusted_documents else None
        )
        self.sockets = websocket.AddressLimit(settings.ws_max_per_address)

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our own GraphiQL build (sdk_js/graphiql): strawberry's page loads it from a CDN.
        return self.assets.page("graphiql.html")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            media_type = http.response_media_type(request.headers.get("accept"))
            response = http.error_response(exc.status_code, exc.reason, media_type)
            if exc.status_code == 405:
                response.headers["allow"] = "POST" if request.method == "GET" else "GET, POST"
        except ClientDisconnect:
            log.info("a /graphql client went away before its request was read whole")
            return
        await response(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket, counted against its address's limit for as long as it is open."""
        ws = WebSocket(scope, receive=receive, send=send)
        address = self.sockets.enter(ws)
        if address is None:
            # Refused before the handshake: the client sees an HTTP 403, nothing is held.
            await ws.close(websocket.TRY_AGAIN_LATER)
            return
        try:
            await self.run(ws)
        finally:
            self.sockets.leave(address)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        service = MetricsService(self.store, self.settings, now_ms(), health=self.health)
        return Context.build(request, response, service, self.settings, self.live)

    def fresh_context(self, connection: Context) -> Context:
        """A WebSocket operation's own context: read at the time it starts, its key looked up
        again (it may have been revoked or have expired since connection_init)."""
        service = MetricsService(self.store, self.settings, now_ms(), health=self.health)
        context = Context.build(
            connection.request, connection.response, service, self.settings, self.live
        )
        context.connection_params = connection.connection_params
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        await websocket.check_key(context)
        return await super().on_ws_connect(context)

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A persisted query over GET has no `query` either: it is not a page load.
        return super().should_render_graphql_ide(request) and (
            "extensions" not in request.query_params
        )

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = http.response_media_type(request.headers.get("accept"))
        request.state.sub_response = sub_response
        return sub_response

    def parse_json(self, data: str | bytes) -> Any:
        return http.decode_json(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if "application/json" not in content_type:
                raise http.unsupported_content_type(content_type)
            body = self.parse_json(await request.get_body())
            if isinstance(body, list):
                http.require_batch(body)
            else:
                http.require_request_object(body)
        return await super().parse_http_body(request)

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        request.state.batched = isinstance(request_data, list)
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            query = self.documents.resolve(request_data.query, request_data.extensions)
        except DocumentError as error:
            return ExecutionResult(
                data=None, errors=[GraphQLError(str(error), extensions=error.extensions)]
            )
        request_data = GraphQLRequestData(
            query, request_data.variables, request_data.operation_name,
            request_data.extensions, request_data.protocol,
        )
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as exc:
            if request_adapter.method == "GET" and isinstance(
                exc.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(
                    405, "mutations are not allowed when using GET: send them with POST"
                ) from None
            raise

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        processed = await super().process_result(request, result)
        if http.never_executed(result):
            # Nothing ran, so there is no data, not even null (GraphQL over HTTP).
            processed.pop("data", None)
            sub_response = request.state.sub_response
            # A batch answers 200 with each operation's own result (some may have run);
            # Apollo's clients expect PERSISTED_QUERY_NOT_FOUND with 200 and then resend.
            status_200 = getattr(request.state, "batched", False) or (
                http.persisted_query_not_found(result)
            )
            if sub_response.media_type == http.GRAPHQL_RESPONSE_JSON and not status_200:
                sub_response.status_code = 400
        return processed

    def create_response(
        self, response_data: Any, sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == http.GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = http.GRAPHQL_RESPONSE_JSON
        return response


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
        accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
        response = http.error_response(413, message, http.response_media_type(accept))
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def graphql_routes(
    store: Store,
    settings: Settings,
    assets: Assets | None = None,
    health: StoreHealth | None = None,
    live: LiveUpdates | None = None,
) -> list[BaseRoute]:
    """`/graphql`: POST (and GET) queries; GraphiQL on GET when `settings.graphiql`;
    subscriptions over graphql-transport-ws on a WebSocket at the same path."""
    graphql = GigmetricsGraphQL(store, settings, assets, health, live)
    app: ASGIApp = BodyLimit(graphql, MAX_GRAPHQL_BODY_BYTES)
    if settings.api_origins:
        # Browser dashboards send the key in a header, never a cookie: no credentials.
        app = CORSMiddleware(
            app,
            allow_origins=list(settings.api_origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(settings.api_headers),
            # Pages may read the id to quote it when they report a problem.
            expose_headers=["x-request-id"],
            max_age=86400,
        )
    return [
        Route("/graphql", app, methods=["GET", "POST", "OPTIONS"]),
        WebSocketRoute("/graphql", graphql),
    ]


def schema_sdl() -> str:
    """The schema in SDL, as `gigmetrics schema` prints it and `schema.graphql` holds it."""
    return str(schema).rstrip("\n") + "\n"
