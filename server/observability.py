"""Prometheus metrics: what they are, who may read them, and how several workers share them.

`GET /metrics` is on the server's port (GIGMETRICS_METRICS=main, the default), on a port of its
own (`[HOST:]PORT`, served from the `gigmetrics serve` process) or off. Either way one rule
decides who may read it: a request from a loopback address that did not come through a proxy
(no Forwarded / X-Forwarded-For / X-Real-IP header) needs no key; any other needs the admin key
as `Authorization: Bearer ...`.

With several worker processes, `prepare_workers()` points prometheus_client's multiprocess
mode at a fresh folder before the workers start, and every scrape sums all workers' files.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from graphql import GraphQLError
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
)
from prometheus_client.exposition import choose_encoder
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from strawberry.extensions import SchemaExtension

from .errors import GigmetricsError

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OUTCOMES = ("accepted", "duplicate", "rejected", "invalid")
_PROXY_HEADERS = frozenset({"forwarded", "x-forwarded-for", "x-real-ip"})

if os.environ.get(MULTIPROC_ENV):
    # prometheus_client writes each process's values there from the first metric on.
    os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)

EVENTS = Counter(
    "gigmetrics_events",
    "Events received, by outcome: accepted (stored and counted), duplicate (already stored), "
    "rejected (refused by validation), invalid (stored but never counted: invalid traffic).",
    ["outcome"],
)
# One child per outcome, made now: every outcome shows 0 from the start, and the hot path
# skips `labels()` (slow: it validates and locks on every call).
_EVENTS_BY_OUTCOME = {outcome: EVENTS.labels(outcome=outcome) for outcome in OUTCOMES}
REQUEST_SECONDS = Histogram(
    "gigmetrics_http_request_duration_seconds",
    "HTTP request latency, by route template, method and status class.",
    ["route", "method", "status"],
)
STORE_WRITE_SECONDS = Histogram(
    "gigmetrics_store_write_duration_seconds",
    "Time from handing a batch to the store until it is durable (group commit included).",
)
STORE_GROUP_SIZE = Histogram(
    "gigmetrics_store_write_group_size",
    "Batches committed together in one transaction (SQLite's group commit).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
)
GRAPHQL_SECONDS = Histogram(
    "gigmetrics_graphql_operation_duration_seconds",
    "GraphQL operation latency, by operation type.",
    ["operation"],
)
GRAPHQL_ERRORS = Counter(
    "gigmetrics_graphql_errors",
    "GraphQL errors, by kind: a gigmetrics error class (Unauthenticated, Forbidden, "
    "QueryError, ...), Invalid (syntax, validation, limits) or Internal (a server bug).",
    ["kind"],
)
LIVE_SUBSCRIPTIONS = Gauge(
    "gigmetrics_live_subscriptions",
    "GraphQL subscriptions open now.",
    multiprocess_mode="livesum",
)


def count_events(accepted: int, duplicates: int, rejected: int, invalid: int) -> None:
    """Count one ingested batch; `invalid` of the `accepted` were stored as invalid traffic
    (crawlers, automation, over-rate, bad signatures, replays...): never counted."""
    for outcome, count in (("accepted", accepted - invalid), ("invalid", invalid),
                           ("duplicate", duplicates), ("rejected", rejected)):
        if count:
            _EVENTS_BY_OUTCOME[outcome].inc(count)


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """The metrics of this process, or of every worker in multiprocess mode, and their media
    type: OpenMetrics when the scraper's `Accept` asks for it, else Prometheus text."""
    encode, media_type = choose_encoder(accept or "")
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return encode(registry), media_type
    return encode(REGISTRY), media_type


def may_read(client_host: str | None, headers: Iterable[tuple[str, str]],
             admin_key: str | None) -> bool:
    """The access rule of `/metrics` (see the module docstring)."""
    authorization = None
    proxied = False
    for name, value in headers:
        name = name.lower()
        proxied = proxied or name in _PROXY_HEADERS
        if name == "authorization":
            authorization = value
    if not proxied and _is_loopback(client_host):
        return True
    if not admin_key or authorization is None:
        return False
    scheme, _, secret = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        secret.strip().encode(), admin_key.encode()
    )


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


REFUSED = (
    "/metrics answers loopback clients without a key; from elsewhere send the admin key as "
    "`Authorization: Bearer <GIGMETRICS_ADMIN_KEY>`, or serve metrics on a port of their own "
    "with GIGMETRICS_METRICS=[HOST:]PORT.\n"
)


def metrics_route(admin_key: str | None) -> Route:
    """`GET /metrics` on the server's own port."""

    async def metrics(request: Request) -> Response:
        host = request.client.host if request.client else None
        if not may_read(host, request.headers.items(), admin_key):
            return Response(REFUSED, status_code=403, media_type="text/plain")
        body, media_type = exposition(request.headers.get("accept"))
        return Response(body, headers={"content-type": media_type})

    return Route("/metrics", metrics, methods=["GET"])


# -- a port of its own ---------------------------------------------------------------------


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes every few seconds are not news


def serve_metrics_port(host: str, port: int, admin_key: str | None) -> Callable[[], None]:
    """Serve `/metrics` on its own port from a thread of this process; returns `stop`.

    Binding happens here, so a port in use raises `OSError` before the server starts.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        headers = [(k[5:].replace("_", "-"), v) for k, v in environ.items()
                   if k.startswith("HTTP_")]
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return iter([b"only /metrics is served on this port\n"])
        if not may_read(environ.get("REMOTE_ADDR"), headers, admin_key):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return iter([REFUSED.encode()])
        body, media_type = exposition(environ.get("HTTP_ACCEPT"))
        start_response("200 OK", [("Content-Type", media_type)])
        return iter([body])

    server = make_server(host, port, app, _ThreadingServer, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="gigmetrics-metrics", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()

    return stop


# -- several workers -----------------------------------------------------------------------


def prepare_workers(workers: int) -> Callable[[], None]:
    """Before starting `workers` processes: turn on multiprocess metrics; returns `cleanup`.

    Must run before the workers import prometheus_client (uvicorn spawns them, so they read
    the environment this sets). A folder given in PROMETHEUS_MULTIPROC_DIR is emptied of
    earlier runs' files; otherwise a temporary one is made and removed by `cleanup`.
    """
    if workers <= 1:
        return lambda: None
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        os.makedirs(given, exist_ok=True)
        for name in os.listdir(given):
            if name.endswith(".db"):
                os.remove(os.path.join(given, name))
        return lambda: None
    folder = tempfile.mkdtemp(prefix="gigmetrics-metrics-")
    os.environ[MULTIPROC_ENV] = folder

    def cleanup() -> None:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)

    return cleanup


# -- GraphQL -------------------------------------------------------------------------------


class GraphQLMetrics(SchemaExtension):
    """Latency per operation type and errors per kind. Listed after MaskErrors, so it sees
    each error before masking hides what it was."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        try:
            operation = context.operation_type.value
        except RuntimeError:  # the document did not parse
            operation = "unknown"
        GRAPHQL_SECONDS.labels(operation=operation).observe(time.perf_counter() - started)
        result = context.result
        for error in (result.errors if result is not None else None) or ():
            GRAPHQL_ERRORS.labels(kind=error_kind(error)).inc()


def error_kind(error: GraphQLError) -> str:
    """A small, fixed set of labels for GraphQL errors."""
    original = error.original_error
    if isinstance(original, GigmetricsError):
        return type(original).__name__
    return "Invalid" if error.path is None else "Internal"
