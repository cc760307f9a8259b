"""Floors for the ingest benchmark: what /collect costs before anything is stored.

- `app`: read the body, parse the JSON, answer (the parse-only floor);
- `validating_app`: the same plus the collector's validation into typed events.
"""

from __future__ import annotations

import time

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.events import parse_batch


async def parse_only(request: Request) -> Response:
    body = orjson.loads(await request.body())
    payload = {"accepted": len(body["events"]), "duplicates": 0, "rejected": []}
    return Response(orjson.dumps(payload), media_type="application/json")


async def parse_and_validate(request: Request) -> Response:
    batch = parse_batch(orjson.loads(await request.body()), received=time.time_ns() // 10**6)
    payload = {"accepted": len(batch.events), "duplicates": 0, "rejected": []}
    return Response(orjson.dumps(payload), media_type="application/json")


app = Starlette(routes=[Route("/collect", parse_only, methods=["POST"])])
validating_app = Starlette(routes=[Route("/collect", parse_and_validate, methods=["POST"])])
