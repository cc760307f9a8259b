"""The schema: Query and Mutation wired to their resolvers, limits, caches and error masking."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import MaskErrors, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StreamResult
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from ..edge.events import MAX_EVENTS_PER_BATCH
from ..errors import BadBatch, GigmetricsError, QueryError, StoreUnavailable
from ..observability import GraphQLMetrics
from . import controls, http, resolvers
from .cost import QueryCost
from .limits import limit_extensions, reword_limit_errors
from .scalars import SCALARS
from .sellers import SellerMetrics
from .subscriptions import Subscription
from .types import (
    GigClaim,
    GigMetrics,
    GigMetricsConnection,
    GigOwner,
    RecordEventsResult,
    RejectedEvent,
    Viewer,
)


@strawberry.type(description="Read metrics. Every field needs `Authorization: Bearer <key>`.")
class Query:
    viewer: Viewer = strawberry.field(
        resolver=resolvers.viewer,
        description="The API key of this request and what it may read.",
    )
    gig_metrics: GigMetrics = strawberry.field(
        resolver=resolvers.gig_metrics,
        description="One gig's metrics over the rolling last 30 days or a range of local days. "
        "A gig without data has zeros and null rates.",
    )
    sellers: list[str] = strawberry.field(
        resolver=resolvers.sellers,
        description="The sellers this key may read, sorted: the admin key's are every seller "
        "a gig is known to belong to.",
    )
    seller_metrics: SellerMetrics = strawberry.field(
        resolver=resolvers.seller_metrics,
        description="A seller's gigs summed as one over the rolling last 30 days or a range of "
        "local days (what a seller dashboard opens on).",
    )
    seller_gigs: GigMetricsConnection = strawberry.field(
        resolver=resolvers.seller_gigs,
        description="A seller's gigs with their metrics, by gig id, a page at a time.",
    )
    top_gigs: GigMetricsConnection = strawberry.field(
        resolver=resolvers.top_gigs,
        description="Gigs ranked by a metric, largest first (for CTR, gigs without impressions "
        "last; ties by clicks, then gig id): one seller's, or all the key may read.",
    )
    rejected_events: list[RejectedEvent] = strawberry.field(
        resolver=resolvers.rejected_events,
        description="The newest refused events, newest first (admin key only).",
    )
    gig_claims: list[GigClaim] = strawberry.field(
        resolver=resolvers.gig_claims,
        description="Sellers named by beacons for gigs another seller owns, latest first: "
        "kept, never applied (admin key only; setGigOwner moves a gig).",
    )


@strawberry.type(description="Write events. Needs a key with write permission.")
class Mutation:
    record_events: RecordEventsResult = strawberry.mutation(
        resolver=resolvers.record_events,
        description="Record events server to server, with the same validation, dedupe and "
        f"storage as POST /collect; at most {MAX_EVENTS_PER_BATCH} per call. The admin key "
        "may also backfill events back to the raw-event retention period; a partner key "
        "writes only events naming one of its sellers.",
    )
    set_gig_owner: GigOwner = strawberry.mutation(
        resolver=resolvers.set_gig_owner,
        description="Set or move a gig's owner, which decides which partner keys read it "
        "(admin key only).",
    )
    delete_gig_data: controls.DeletedDataResult = strawberry.mutation(
        resolver=controls.delete_gig_data,
        description="Delete everything stored of one gig: events, impressions, page loads, "
        "rollups, contexts, rejected events naming it, its record (admin key only). "
        "Idempotent; its events arriving later count again, as new data.",
    )
    delete_seller_data: controls.DeletedDataResult = strawberry.mutation(
        resolver=controls.delete_seller_data,
        description="Delete everything stored of every gig the seller owns, and raw and "
        "rejected events naming the seller (admin key only). Idempotent.",
    )


# Machine-readable codes of deliberate errors that do not carry one (auth errors do).
_CODES: dict[type[BaseException], str] = {
    QueryError: "BAD_USER_INPUT",
    BadBatch: "BAD_USER_INPUT",
    StoreUnavailable: "STORE_UNAVAILABLE",
}


# Messages quote the request (tokens, variable values): past this they are cut.
MAX_MESSAGE_CHARS = 400


def _add_code(error: GraphQLError) -> None:
    extensions = error.extensions or {}
    if "code" in extensions:
        return
    code = _code(error)
    if code is not None:
        error.extensions = {**extensions, "code": code}


def _code(error: GraphQLError) -> str | None:
    for kind, code in _CODES.items():
        if isinstance(error.original_error, kind):
            return code
    if error.path is not None:
        return None
    # The request's own mistakes, named as Apollo Server and most clients know them.
    if error.message.startswith("Variable '$"):  # its value did not fit the variable's type
        return "BAD_USER_INPUT"
    if isinstance(error.original_error, ValueError):
        # A literal a scalar refused (a bad `Date` in the document): it failed validation.
        return "GRAPHQL_VALIDATION_FAILED"
    if error.original_error is not None:
        return None
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED"


def _shortened(error: GraphQLError) -> GraphQLError:
    if len(error.message) <= MAX_MESSAGE_CHARS:
        return error
    half = MAX_MESSAGE_CHARS // 2
    message = f"{error.message[:half]} ... (cut) ... {error.message[-half // 2 :]}"
    # A new error: the validation cache shares the original between requests.
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=error.original_error,
        extensions=error.extensions,
    )


def should_mask_error(error: GraphQLError) -> bool:
    """Hide what a resolver did not mean to say. Kept: gigmetrics' own errors, and the
    request's own mistakes (syntax, validation, limits, variables), which carry no path."""
    if isinstance(error.original_error, GigmetricsError):
        return False
    return error.path is not None


def _finish(result: ExecutionResult) -> ExecutionResult:
    """Errors as clients get them over any transport: limits reworded, cut, with a code."""
    reword_limit_errors(result)
    if result.errors:
        result.errors = [_shortened(error) for error in result.errors]
        for error in result.errors:
            _add_code(error)
    return result


class _Schema(strawberry.Schema):
    async def execute(self, *args: Any, **kwargs: Any) -> ExecutionResult:
        return _finish(await super().execute(*args, **kwargs))

    async def stream(self, *args: Any, **kwargs: Any) -> StreamResult:
        # WebSocket operations: the same errors as over HTTP.
        return _finished(await super().stream(*args, **kwargs))

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Only unexpected errors are the server's problem to log; the rest are the caller's.
        super().process_errors([e for e in errors if should_mask_error(e)], execution_context)


async def _finished(source: StreamResult) -> StreamResult:
    async with aclosing(source):
        try:
            first = await anext(source)
        except StopAsyncIteration:
            return
        except GraphQLError as error:
            # Strawberry's stream lets a parse error (syntax, token limit) escape where
            # execute answers it: the client's mistake, answered the same way here.
            yield _finish(PreExecutionError(data=None, errors=[error]))
            return
        yield _finish(first) if isinstance(first, ExecutionResult) else first
        async for result in source:
            yield _finish(result) if isinstance(result, ExecutionResult) else result


schema = _Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(
        scalar_map=SCALARS, batching_config={"max_operations": http.MAX_BATCH}
    ),
    extensions=[
        ParserCache,
        ValidationCache,
        *limit_extensions(),
        QueryCost,
        lambda: MaskErrors(should_mask_error=should_mask_error),
        GraphQLMetrics,  # after MaskErrors: it sees errors before they are masked
    ],
)
