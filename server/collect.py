"""`POST /collect`: the beacon collector, the hot path. A plain Starlette route on purpose."""

from __future__ import annotations

import logging

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive

from .edge.bots import is_crawler
from .edge.devices import device_of
from .edge.events import MAX_BODY_BYTES, crawled
from .edge.events_fast import parse_body
from .edge.signing import check
from .edge.traffic import TrafficScreen
from .errors import BadBatch, StoreUnavailable
from .health import StoreHealth
from .ingest import RejectionSampler, record
from .model import Batch, Event, now_ms
from .settings import Settings
from .stores.base import Store

log = logging.getLogger("gigmetrics.collect")

_ACCEPTED_TYPES = ("text/plain", "application/json", "")
RETRY_AFTER_S = 5


class Collector:
    """Turns beacon requests into stored events."""

    def __init__(self, store: Store, settings: Settings, health: StoreHealth | None = None) -> None:
        self.store = store
        self.health = health
        # Anonymous senders only: recordEvents callers hold a key (the store's cap bounds both).
        self.rejection_sampler = RejectionSampler()
        self.allow_any_origin = "*" in settings.allowed_origins
        self.allowed_origins = frozenset(settings.allowed_origins)
        self.max_backdate_days = settings.max_backdate_days
        self.signing_keys = settings.signing_keys
        self.traffic = TrafficScreen(store.counters, settings.rate_limits)

    async def __call__(self, request: Request) -> Response:
        scope = request.scope
        origin, content_type, declared, agent = _read_headers(scope["headers"])
        if origin is not None and not self._origin_allowed(origin):
            return _error(403, f"origin {origin!r} may not send beacons here "
                          "(see GIGMETRICS_ALLOWED_ORIGINS)", None)
        if scope["method"] == "OPTIONS":
            return self._preflight(origin)
        received = now_ms()
        if content_type not in _ACCEPTED_TYPES:
            content_type = content_type.split(";")[0].strip().lower()
            if content_type not in _ACCEPTED_TYPES:
                return _error(415, f"content type {content_type!r} is not accepted: send the "
                              "JSON body as text/plain or application/json", origin)
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            # Refused before reading: a huge body never reaches memory.
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes: send fewer events "
                          "per request", origin)
        try:
            body = await _read_limited(request.receive)
        except ClientDisconnect:
            # A closed tab or a dropped connection: nobody is waiting for an answer.
            log.info("a /collect client went away before its body was read whole")
            return Response(status_code=400)
        if body is None:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes: send fewer events "
                          "per request", origin)
        try:
            batch = parse_body(body, received=received, oldest_days=self.max_backdate_days,
                               device=device_of(agent))
            # Screened only when there is something to screen: an agent costs a regex search.
            if batch.events and is_crawler(agent):
                batch = crawled(batch)
            client = scope.get("client")
            events = await self._screen(batch.events, client[0] if client else "", received)
            receipt = await record(self.store, Batch(events, batch.rejections), self.health,
                                   self.rejection_sampler)
        except BadBatch as exc:
            return _error(400, str(exc), origin)
        except StoreUnavailable as exc:
            response = _error(503, str(exc), origin)
            response.headers["retry-after"] = str(RETRY_AFTER_S)
            return response
        return _JsonResponse(200, orjson.dumps(receipt.as_json()), origin)

    async def _screen(
        self, events: tuple[Event, ...], client: str, received: int
    ) -> tuple[Event, ...]:
        """Invalid traffic marked: bad signatures (when signing is on), then over-rate."""
        keys = self.signing_keys
        if keys is not None:
            events = tuple(check(keys, event, received=received) for event in events)
        return await self.traffic.screen(events, client)

    def _origin_allowed(self, origin: str) -> bool:
        return self.allow_any_origin or origin.rstrip("/") in self.allowed_origins

    def _preflight(self, origin: str | None) -> Response:
        response = Response(status_code=204, headers=_cors(origin))
        response.headers["access-control-allow-methods"] = "POST, OPTIONS"
        response.headers["access-control-allow-headers"] = "content-type"
        response.headers["access-control-max-age"] = "86400"
        return response


def _read_headers(raw: list[tuple[bytes, bytes]]) -> tuple[str | None, str, str | None, str]:
    """Origin, content type, declared length and user agent, in one pass over the raw headers
    (a Headers object and four lookups cost more); the first of repeated headers counts."""
    origin = content_type = length = agent = None
    for name, value in raw:
        if name == b"content-type":
            content_type = content_type or value
        elif name == b"user-agent":
            agent = agent or value
        elif name == b"content-length":
            length = length or value
        elif name == b"origin":
            origin = origin or value
    return (
        None if origin is None else origin.decode("latin-1"),
        "" if content_type is None else content_type.decode("latin-1"),
        None if length is None else length.decode("latin-1"),
        "" if agent is None else agent.decode("latin-1"),
    )


async def _read_limited(receive: Receive) -> bytes | None:
    """The body, or None past MAX_BODY_BYTES; `ClientDisconnect` when the client hangs up."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        if not message.get("more_body", False):
            if not chunks:
                return chunk  # the whole body in one message: most beacons
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def _cors(origin: str | None) -> dict[str, str]:
    # Credentials are never allowed: beacons carry no cookies, so echoing the origin is safe.
    if origin is None:
        return {}
    return {"access-control-allow-origin": origin, "vary": "Origin"}


class _JsonResponse(Response):
    """A JSON response whose headers are written out directly (what Response would work out
    from its arguments, on every beacon)."""

    media_type = "application/json"

    def __init__(self, status: int, body: bytes, origin: str | None) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        cors = [] if origin is None else [
            (b"access-control-allow-origin", origin.encode("latin-1")), (b"vary", b"Origin")
        ]
        self.raw_headers = [*cors, (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json")]


def _error(status: int, message: str, origin: str | None) -> Response:
    return _JsonResponse(status, orjson.dumps({"error": message}), origin)
