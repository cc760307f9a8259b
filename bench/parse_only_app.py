"""The floor for the ingest benchmark: read the body, parse the JSON, answer. Nothing else."""

from __future__ import annotations

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def parse_only(request: Request) -> Response:
    body = orjson.loads(await request.body())
    payload = {"accepted": len(body["events"]), "duplicates": 0, "rejected": []}
    return Response(orjson.dumps(payload), media_type="application/json")


app = Starlette(routes=[Route("/collect", parse_only, methods=["POST"])])
