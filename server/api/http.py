"""GraphQL over HTTP: what a request body must be, and which media type and status answer it.

The GraphQL-over-HTTP spec: a client that accepts `application/graphql-response+json` gets
it, and then a request that never executed (a parse, validation or variable error) is a
`400` without a `data` entry; `application/json` clients keep getting `200`. A body that is
not a GraphQL request is a `4xx` whose message says what is wrong, in either media type.
"""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.types import ExecutionResult

from ..edge.untrusted import json_kind, shown

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"
_HOW = 'send a JSON object like {"query": "{ viewer { isAdmin } }", "variables": {}}'


def response_media_type(accept: str | None) -> str:
    """The media type to answer with: graphql-response+json when the client prefers it."""
    best, best_q = APPLICATION_JSON, 0.0
    for media_range in (accept or "").split(","):
        kind, *params = (part.strip() for part in media_range.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        kind = kind.lower()
        # On a tie application/json wins: it is what older clients understand.
        if kind == GRAPHQL_RESPONSE_JSON and q > best_q:
            best, best_q = GRAPHQL_RESPONSE_JSON, q
        elif kind in (APPLICATION_JSON, "application/*", "*/*") and q >= best_q and q > 0:
            best, best_q = APPLICATION_JSON, q
    return best


def decode_json(data: str | bytes) -> Any:
    """A request body or a GET parameter as JSON; `HTTPException(400)` saying what is wrong."""
    if isinstance(data, bytes):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise HTTPException(
                400, f"the body is not UTF-8 text (byte {exc.start} is not): {_HOW}"
            ) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, f"the body is not valid JSON ({exc}): {_HOW}") from None


# Apollo's BatchHttpLink sends 10 operations per batch by default (`batchMax`).
MAX_BATCH = 10


def require_batch(data: list[Any]) -> None:
    """Refuse a batch (a JSON list of requests) that is empty, too long or has a bad item."""
    if not data:
        raise HTTPException(400, f"the batch is an empty list: send 1 to {MAX_BATCH} requests")
    if len(data) > MAX_BATCH:
        raise HTTPException(
            400, f"the batch has {len(data)} operations and at most {MAX_BATCH} are accepted: "
            f"send smaller batches (BatchHttpLink's batchMax: {MAX_BATCH})"
        )
    for index, item in enumerate(data):
        try:
            require_request_object(item)
        except HTTPException as exc:
            raise HTTPException(400, f"batch item {index}: {exc.reason}") from None


def require_request_object(data: Any) -> None:
    """Refuse a JSON body that is not a GraphQL request object."""
    if not isinstance(data, dict):
        raise HTTPException(400, f"the body is {json_kind(data)}, not a request: {_HOW}")
    extensions = data.get("extensions")
    persisted = isinstance(extensions, dict) and "persistedQuery" in extensions
    if not isinstance(data.get("query"), str) and not (persisted and data.get("query") is None):
        raise HTTPException(
            400, f'"query" must be the GraphQL document as a string, not '
            f"{json_kind(data.get('query'))}: {_HOW}"
        )
    operation = data.get("operationName")
    if operation is not None and not isinstance(operation, str):
        raise HTTPException(400, f'"operationName" must be a string, not {json_kind(operation)}')


def unsupported_content_type(content_type: str) -> HTTPException:
    """The refusal of a POST body that is not JSON."""
    return HTTPException(
        415, f"content type {shown(content_type or 'none')} is not accepted: send the request as "
        f"application/json ({_HOW})"
    )


def never_executed(result: ExecutionResult) -> bool:
    """True for a request refused before execution (parse, validation, variables, limits):
    its errors point at the document, never at a field's path."""
    return result.data is None and bool(result.errors) and all(
        isinstance(error, GraphQLError) and error.path is None for error in result.errors or ()
    )


def persisted_query_not_found(result: ExecutionResult) -> bool:
    """True for the answer Apollo's clients expect with status 200: send the query too."""
    return any(
        (error.extensions or {}).get("code") == "PERSISTED_QUERY_NOT_FOUND"
        for error in result.errors or ()
    )


def error_response(status: int, message: str, media_type: str) -> Response:
    """A request-level error as a GraphQL response body."""
    body = {"errors": [{"message": message, "extensions": {"code": _STATUS_CODES.get(status,
                                                                                   "BAD_REQUEST")}}]}
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


_STATUS_CODES = {
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}
