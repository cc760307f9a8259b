"""`GET /sdk.js`: the browser snippet, built into `sdk_js/dist/sdk.js` and read once."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

# A link to sdk_js/dist/sdk.js in the tree; a built wheel carries the file itself.
SDK_PATH = Path(__file__).resolve().parent / "static" / "sdk.js"
# Browsers may reuse the snippet for a day; the ETag makes a changed build show up at once
# for revalidating clients and lets unchanged ones get a 304.
CACHE_CONTROL = "public, max-age=86400"


class _Snippet:
    """The built file and its content-hash ETag, loaded on first request."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.body: bytes | None = None
        self.etag = ""

    def load(self) -> bool:
        if self.body is None:
            try:
                body = self.path.read_bytes()
            except FileNotFoundError:
                return False
            self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            self.body = body
        return True


def sdk_route(path: Path = SDK_PATH) -> Route:
    """The `/sdk.js` route serving `path` (the committed build by default)."""
    snippet = _Snippet(path)

    async def endpoint(request: Request) -> Response:
        if not snippet.load():
            return PlainTextResponse(
                f"// gigmetrics: {path} is missing: run `npm install && npm run build` in sdk_js/",
                status_code=500,
                media_type="text/javascript",
            )
        headers = {
            "cache-control": CACHE_CONTROL,
            "etag": snippet.etag,
            # A script is public: any page may load it (and read it, e.g. for SRI checks).
            "access-control-allow-origin": "*",
        }
        if _matches(request.headers.get("if-none-match", ""), snippet.etag):
            return Response(status_code=304, headers=headers)
        # For HEAD the server drops the body and keeps its length.
        return Response(snippet.body, media_type="text/javascript", headers=headers)

    return Route("/sdk.js", endpoint, methods=["GET", "HEAD"])


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags
