"""`/healthz` (the process runs) and `/readyz` (the store answers)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .stores.base import Store

READY_TIMEOUT_S = 2.0


def health_routes(store: Store) -> list[Route]:
    """The two probe routes."""

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        try:
            ready = await asyncio.wait_for(store.ping(), READY_TIMEOUT_S)
        except Exception:  # any failure to answer means not ready
            ready = False
        if ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "unavailable", "error": "the store does not answer"}, 503)

    return [
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
    ]
