"""Compressed answers (zstd, brotli or gzip, as the client accepts) on the API, the snippet
and the metrics; the collector and everything else pass by untouched.

`/collect` is the hot path and its answers are a few bytes: it pays one path comparison,
not a compressor. `/static` files are compressed already (`assets.py`).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send
from starlette_compress import CompressMiddleware, add_compress_type

MINIMUM_SIZE = 1024  # smaller answers gain less than a compressor costs
COMPRESSED_PATHS = ("/graphql", "/sdk.js", "/metrics")
COMPRESSED_PREFIXES = ("/sdk/",)  # the snippet's versioned URLs

# Not in the middleware's list of compressible types: GraphQL over HTTP, OpenMetrics.
add_compress_type("application/graphql-response+json")
add_compress_type("application/openmetrics-text")


class Compression:
    """A pure ASGI middleware: compress the answers of `COMPRESSED_PATHS` over 1 KB."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.compressed = CompressMiddleware(app, minimum_size=MINIMUM_SIZE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _compressed(scope["path"]):
            await self.compressed(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _compressed(path: str) -> bool:
    return path in COMPRESSED_PATHS or path.startswith(COMPRESSED_PREFIXES)
