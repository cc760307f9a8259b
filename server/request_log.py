"""One log line per request, with a request id that is also sent back as `X-Request-ID`.

A pure ASGI middleware (not Starlette's BaseHTTPMiddleware, which costs the collector's hot
path a task and a stream per request). It also feeds the request latency histogram, and keeps
client mistakes (a client that hangs up mid-body) out of the tracebacks.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import sys
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .observability import REQUEST_SECONDS

log = logging.getLogger("gigmetrics.request")

REQUEST_ID_HEADER = b"x-request-id"
NOSNIFF = (b"x-content-type-options", b"nosniff")
# An incoming id is kept when it is short and plain (it ends up in logs and headers).
_SANE_ID = re.compile(rb"[A-Za-z0-9._:/+=-]{8,128}")
_STATUS_CLASS = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
CLIENT_CLOSED = 499  # nginx's code for "the client hung up before the answer"


class RequestLog:
    """Wraps the app: request id in and out, one line per HTTP request, latency histogram."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope) or _new_id()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        status = 500
        size = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (REQUEST_ID_HEADER, request_id)]
                # Every answer: a browser must not run a JSON answer or a text error page as a
                # script or a style because its bytes look like one. Here, not in a layer of
                # its own: the collector's hot path pays one middleware, not two.
                if not any(name == NOSNIFF[0] for name, _ in headers):
                    headers.append(NOSNIFF)
                message["headers"] = headers
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            status = CLIENT_CLOSED  # the client's doing: one line, no traceback
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            _histogram(template, scope["method"], status).observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                _log_line(scope, request_id, status, size, elapsed, template)


    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One line per WebSocket connection, when it ends: how it closed, how long it was
        open, frames each way (never their contents: they carry keys)."""
        started = time.perf_counter()
        request_id = _incoming_id(scope) or _new_id()
        scope.setdefault("state", {})["request_id"] = request_id.decode()
        # Refused before the handshake (an HTTP 403) until the app accepts it.
        seen: dict[str, Any] = {"status": 403, "code": None, "in": 0, "out": 0}

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                seen["in"] += 1
            elif message["type"] == "websocket.disconnect" and seen["code"] is None:
                seen["code"] = message.get("code", 1005)
            return message

        async def counted_send(message: Message) -> None:
            if message["type"] == "websocket.accept":
                seen["status"] = 101
            elif message["type"] == "websocket.send":
                seen["out"] += 1
            elif message["type"] == "websocket.close" and seen["code"] is None:
                seen["code"] = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, counted_receive, counted_send)
        finally:
            if log.isEnabledFor(logging.INFO):
                _websocket_line(scope, request_id, seen, time.perf_counter() - started)


# Ids are a random per-process prefix and a counter: unique across workers and restarts
# (64 random bits), and cheaper than drawing random bytes for every request.
_PREFIX = secrets.token_hex(5)
_COUNTER = itertools.count(1)


def _new_id() -> bytes:
    return f"{_PREFIX}{next(_COUNTER):06x}".encode()


_HISTOGRAMS: dict[tuple[str, str, int], Any] = {}


def _histogram(route: str, method: str, status: int) -> Any:
    """The latency histogram of one (route, method, status class); `labels()` is slow, so
    children are kept (their number is bounded by routes x methods x 5)."""
    key = (route, method, status // 100)
    child = _HISTOGRAMS.get(key)
    if child is None:
        status_class = _STATUS_CLASS.get(status // 100, "5xx")
        child = _HISTOGRAMS[key] = REQUEST_SECONDS.labels(route, method, status_class)
    return child


def _incoming_id(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == REQUEST_ID_HEADER:
            return value if _SANE_ID.fullmatch(value) else None
    return None


def _log_line(scope: Scope, request_id: bytes, status: int, size: int, elapsed: float,
              route: str) -> None:
    client = scope.get("client")
    fields = {
        "request_id": request_id.decode(),
        "method": scope["method"],
        "path": scope["path"],
        "route": route,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "bytes": size,
        "client": client[0] if client else None,
    }
    # makeRecord + handle: what log.info does, without walking the stack to find the caller.
    record = log.makeRecord(
        log.name, logging.INFO, __file__, 0, "%s %s %d %.1fms %dB id=%s",
        (scope["method"], scope["path"], status, elapsed * 1000, size, fields["request_id"]),
        None, extra={"request": fields},
    )
    log.handle(record)


def _websocket_line(scope: Scope, request_id: bytes, seen: dict[str, Any],
                    elapsed: float) -> None:
    client = scope.get("client")
    route = getattr(scope.get("route"), "path", None) or "unmatched"
    code = seen["code"] if seen["status"] == 101 else None
    fields = {
        "request_id": request_id.decode(),
        "method": "WS",
        "path": scope["path"],
        "route": route,
        "status": seen["status"],
        "close_code": code,
        "duration_ms": round(elapsed * 1000, 2),
        "frames_in": seen["in"],
        "frames_out": seen["out"],
        "client": client[0] if client else None,
    }
    record = log.makeRecord(
        log.name, logging.INFO, __file__, 0, "WS %s %s close=%s %.1fms in=%d out=%d id=%s",
        (scope["path"], seen["status"], code, elapsed * 1000, seen["in"], seen["out"],
         fields["request_id"]),
        None, extra={"request": fields},
    )
    log.handle(record)


class _UvicornWebSocketLines(logging.Filter):
    """Drop uvicorn's own lines about each WebSocket (accepted, open, closed): RequestLog
    writes one line per connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (
            message in ("connection open", "connection closed")
            or message.startswith('%s - "WebSocket %s"')
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and a request's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "request", None) or {})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, level: str) -> None:
    """Root logging for the server: plain text (default) or one JSON object per line."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_UvicornWebSocketLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # No format here shows thread or process names: not looking them up saves every line time.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
