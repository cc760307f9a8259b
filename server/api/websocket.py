"""graphql-transport-ws on `/graphql`, as the protocol and SPEC §7 want it for our keys.

Strawberry's handler, with what a hostile or sloppy client must not get past:
- the key is checked at `connection_init`: no valid key closes the socket with 4403;
- every operation gets a context of its own, made when it starts: its key is checked again
  (revoked or expired keys stop working on an open socket) and it reads at the current time;
- a frame not of the protocol's shape (`[1]`, a string payload, an object id) closes the
  socket with 4400, never a traceback;
- a request that never ran (syntax, validation, variables, limits, cost) is an `error`
  message carrying the `extensions.code` it has over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from contextlib import suppress
from typing import Any, Protocol, cast

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    CompleteMessage,
    Message,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from ..errors import AuthError, StoreUnavailable
from .auth import authenticate
from .documents import DocumentError, Documents
from .request_context import Context

log = logging.getLogger("gigmetrics.graphql")

# Close codes (graphql-transport-ws, and RFC 6455 for "try again later").
BAD_MESSAGE = 4400
FORBIDDEN = 4403
TRY_AGAIN_LATER = 1013

# What each client message must look like: name -> (field, accepted types, required).
_FIELDS: dict[str, tuple[tuple[str, tuple[type, ...], bool], ...]] = {
    "connection_init": (("payload", (dict, type(None)), False),),
    "ping": (("payload", (dict, type(None)), False),),
    "pong": (("payload", (dict, type(None)), False),),
    "subscribe": (("id", (str,), True), ("payload", (dict,), True)),
    "complete": (("id", (str,), True),),
}
_PAYLOAD_FIELDS: tuple[tuple[str, tuple[type, ...], bool], ...] = (
    ("query", (str, type(None)), False),
    ("variables", (dict, type(None)), False),
    ("operationName", (str, type(None)), False),
    ("extensions", (dict, type(None)), False),
)


def frame_problem(message: object) -> str | None:
    """Why a client frame is not a graphql-transport-ws message (None: it is one)."""
    if not isinstance(message, dict):
        return "a message must be a JSON object with a string type"
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        return f"unknown message type {str(kind)[:40]!r}"
    problem = _fields_problem(kind, message, _FIELDS[kind])
    if problem is None and kind == "subscribe":
        problem = _fields_problem("subscribe payload", message["payload"], _PAYLOAD_FIELDS)
    return problem


def _fields_problem(
    what: str, message: Mapping[str, Any], fields: tuple[tuple[str, tuple[type, ...], bool], ...]
) -> str | None:
    for name, types, required in fields:
        if name not in message:
            if required:
                return f"{what} needs {name!r}"
            continue
        if not isinstance(message[name], types):
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            return f"{what}'s {name!r} must be {wanted}"
    return None


class _View(Protocol):
    documents: Documents

    def fresh_context(self, connection: Context) -> Context: ...


class TransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """One graphql-transport-ws connection."""

    context: Context

    @property
    def gigmetrics(self) -> _View:
        """The view that made this handler (`GigmetricsGraphQL`)."""
        return cast(_View, self.view)

    async def handle_message(self, message: Message) -> None:
        problem = frame_problem(message)
        if problem is not None:
            await self.handle_invalid_message(f"Invalid message: {problem}")
            return
        if message["type"] == "connection_init" and message.get("payload") is None:
            message = {"type": "connection_init", "payload": {}}
        try:
            await super().handle_message(message)
        except StoreUnavailable:
            # The key could not be looked up: the client may try again, nothing to log.
            await self.websocket.close(TRY_AGAIN_LATER, "the store is not answering: retry")

    async def handle_subscribe(self, message: Any) -> None:
        payload = message["payload"]
        if self.connection_acknowledged and message["id"] not in self.operations:
            try:
                query = self.gigmetrics.documents.resolve(
                    payload.get("query"), payload.get("extensions")
                )
            except DocumentError as error:
                await self.send_message({
                    "id": message["id"], "type": "error",
                    "payload": [GraphQLError(str(error), extensions=error.extensions).formatted],
                })
                return
            message = {**message, "payload": {**payload, "query": query}}
        await super().handle_subscribe(message)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Strawberry's loop over one operation, with a context of its own and the errors of
        a request that never ran sent as an `error` message (the connection stays open)."""
        try:
            source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.gigmetrics.fresh_context(self.context),
                root_value=self.root_value,
                operation_name=operation.operation_name,
            )
            async with aclosing(source):
                first = True
                async for result in source:
                    if first and _never_ran(result):
                        errors = cast(ExecutionResult, result).errors or []
                        await operation.send_initial_errors([_coded(e) for e in errors])
                        return
                    first = False
                    await operation.send_next(cast(ExecutionResult, result))
            await operation.send_operation_message(
                CompleteMessage(id=operation.id, type="complete")
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            self.operations.pop(operation.id, None)


def _coded(error: GraphQLError) -> GraphQLError:
    """An error of a request that never ran, with a code: what HTTP answers with a 400 (no
    query, an unknown operation name) is BAD_REQUEST here too."""
    if "code" not in (error.extensions or {}):
        error.extensions = {**(error.extensions or {}), "code": "BAD_REQUEST"}
    return error


def _never_ran(result: object) -> bool:
    if isinstance(result, PreExecutionError):
        return True
    return (
        isinstance(result, ExecutionResult) and result.data is None and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


async def check_key(context: Context) -> None:
    """`connection_init`: refuse (4403) a socket whose payload has no valid key."""
    try:
        await authenticate(context.authorization(), context.service.store, context.settings)
    except AuthError:
        raise ConnectionRejectionError from None


class AddressLimit:
    """At most `limit` open WebSockets per client address (idle ones included)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def enter(self, websocket: WebSocket) -> str | None:
        """Count the socket in; None when its address already holds `limit`."""
        address = websocket.client.host if websocket.client else "?"
        if self.open[address] >= self.limit:
            return None
        self.open[address] += 1
        return address

    def leave(self, address: str) -> None:
        """Count a socket out."""
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]
