"""Floors for the ingest benchmark: what /collect costs before anything is stored.

- `app`: read the body, parse the JSON with orjson, answer (the parse-only floor);
- `validating_app`: read the body and validate it into typed events the way /collect does
  (`events_fast.parse_body`: the fast path, else orjson + the per-event path), answer.
"""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.edge.events_fast import parse_body
from server.model import now_ms


async def parse_only(request: Request) -> Response:
    body = orjson.loads(await request.body())
    payload = {"accepted": len(body["events"]), "duplicates": 0, "rejected": []}
    return Response(orjson.dumps(payload), media_type="application/json")


async def parse_and_validate(request: Request) -> Response:
    batch = parse_body(await request.body(), received=now_ms())
    payload = {"accepted": len(batch.events), "duplicates": 0, "rejected": []}
    return Response(orjson.dumps(payload), media_type="application/json")


app = Starlette(routes=[Route("/collect", parse_only, methods=["POST"])])
validating_app = Starlette(routes=[Route("/collect", parse_and_validate, methods=["POST"])])
