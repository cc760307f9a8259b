"""`POST /collect`: the beacon collector, the hot path. A plain Starlette route on purpose."""

from __future__ import annotations

import logging
from dataclasses import replace

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .bots import is_crawler
from .errors import BadBatch, StoreUnavailable
from .events import MAX_BODY_BYTES, Event
from .events_fast import parse_body
from .health import StoreHealth
from .ingest import RejectionSampler, now_ms, record
from .settings import Settings
from .signing import check
from .stores.base import Store
from .traffic import TrafficScreen

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
        origin = request.headers.get("origin")
        if origin is not None and not self._origin_allowed(origin):
            return _error(403, f"origin {origin!r} may not send beacons here "
                          "(see GIGMETRICS_ALLOWED_ORIGINS)", None)
        if request.method == "OPTIONS":
            return self._preflight(origin)
        received = now_ms()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in _ACCEPTED_TYPES:
            return _error(415, f"content type {content_type!r} is not accepted: send the JSON "
                          "body as text/plain or application/json", origin)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            # Refused before reading: a huge body never reaches memory.
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes: send fewer events "
                          "per request", origin)
        try:
            body = await _read_limited(request)
        except ClientDisconnect:
            # A closed tab or a dropped connection: nobody is waiting for an answer.
            log.info("a /collect client went away before its body was read whole")
            return Response(status_code=400)
        if body is None:
            return _error(413, f"the body is over {MAX_BODY_BYTES} bytes: send fewer events "
                          "per request", origin)
        try:
            automated = is_crawler(request.headers.get("user-agent", ""))
            batch = parse_body(
                body, received=received, oldest_days=self.max_backdate_days, automated=automated
            )
            batch = replace(batch, events=await self._screen(batch.events, request))
            receipt = await record(self.store, batch, self.health, self.rejection_sampler)
        except BadBatch as exc:
            return _error(400, str(exc), origin)
        except StoreUnavailable as exc:
            message = str(exc) if "retry later" in str(exc) else f"{exc}: retry later"
            response = _error(503, message, origin)
            response.headers["retry-after"] = str(RETRY_AFTER_S)
            return response
        return _json(200, receipt.as_json(), origin)

    async def _screen(self, events: tuple[Event, ...], request: Request) -> tuple[Event, ...]:
        """Invalid traffic marked: bad signatures (when signing is on), then over-rate."""
        keys = self.signing_keys
        if keys is not None:
            events = tuple(check(keys, event) for event in events)
        client = request.client.host if request.client is not None else ""
        return await self.traffic.screen(events, client)

    def _origin_allowed(self, origin: str) -> bool:
        return self.allow_any_origin or origin.rstrip("/") in self.allowed_origins

    def _preflight(self, origin: str | None) -> Response:
        response = Response(status_code=204, headers=_cors(origin))
        response.headers["access-control-allow-methods"] = "POST, OPTIONS"
        response.headers["access-control-allow-headers"] = "content-type"
        response.headers["access-control-max-age"] = "86400"
        return response


async def _read_limited(request: Request) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _cors(origin: str | None) -> dict[str, str]:
    # Credentials are never allowed: beacons carry no cookies, so echoing the origin is safe.
    if origin is None:
        return {}
    return {"access-control-allow-origin": origin, "vary": "Origin"}


def _json(status: int, payload: object, origin: str | None) -> Response:
    return Response(
        orjson.dumps(payload),
        status_code=status,
        media_type="application/json",
        headers=_cors(origin),
    )


def _error(status: int, message: str, origin: str | None) -> Response:
    return _json(status, {"error": message}, origin)
