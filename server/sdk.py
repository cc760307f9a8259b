"""`GET /sdk.js` and `GET /sdk/VERSION/sdk.js`: the browser snippet, built into
`sdk_js/dist/sdk.js` and read once.

`/sdk.js` is always the current build, cached for a day and revalidated by its ETag.
`/sdk/VERSION/sdk.js` is the same bytes under this release's version, cached for a year as
immutable, so a page can pin it with a Subresource Integrity hash (`integrity="sha384-…"`,
printed by `python -m server.sdk`); another version is a 404 that names the current one.
"""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import __version__

# A link to sdk_js/dist/sdk.js in the tree; a built wheel carries the file itself.
SDK_PATH = Path(__file__).resolve().parent / "static" / "sdk.js"
# Browsers may reuse /sdk.js for a day; the ETag makes a changed build show up at once for
# revalidating clients and lets unchanged ones get a 304.
CACHE_CONTROL = "public, max-age=86400"
# A versioned URL never changes its bytes within a release.
IMMUTABLE = "public, max-age=31536000, immutable"


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


def versioned_path(version: str = __version__) -> str:
    """The snippet's URL path for one release: `/sdk/0.1.0/sdk.js`."""
    return f"/sdk/{version}/sdk.js"


def integrity(body: bytes) -> str:
    """The Subresource Integrity value of `body` (sha384, as browsers check it)."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def script_tag(origin: str, path: Path = SDK_PATH) -> str:
    """The `<script>` tag that loads this release's snippet from `origin`, pinned by its hash."""
    return (
        f'<script src="{origin.rstrip("/")}{versioned_path()}" '
        f'integrity="{integrity(path.read_bytes())}" crossorigin="anonymous" defer></script>'
    )


def sdk_route(path: Path = SDK_PATH) -> Route:
    """The snippet's routes, `/sdk.js` and `/sdk/VERSION/sdk.js`, serving `path` (the committed
    build by default). One route matching both (`/sdk…`), so the app mounts it as one."""
    snippet = _Snippet(path)
    current = versioned_path()

    async def endpoint(request: Request) -> Response:
        url_path = "/sdk" + request.path_params["rest"]
        if url_path == "/sdk.js":
            cache_control = CACHE_CONTROL
        elif url_path == current:
            cache_control = IMMUTABLE
        else:
            return PlainTextResponse(
                f"// gigmetrics: no snippet at {url_path}: this server is version {__version__}, "
                f"its snippet is at {current} (or /sdk.js, always the current one)",
                status_code=404,
                media_type="text/javascript",
            )
        if not snippet.load():
            return PlainTextResponse(
                f"// gigmetrics: {path} is missing: run `npm install && npm run build` in sdk_js/",
                status_code=500,
                media_type="text/javascript",
            )
        headers = {
            "cache-control": cache_control,
            "etag": snippet.etag,
            # A script is public: any page may load it (and read it, e.g. for SRI checks).
            "access-control-allow-origin": "*",
        }
        if _matches(request.headers.get("if-none-match", ""), snippet.etag):
            return Response(status_code=304, headers=headers)
        # For HEAD the server drops the body and keeps its length.
        return Response(snippet.body, media_type="text/javascript", headers=headers)

    return Route("/sdk{rest:path}", endpoint, methods=["GET", "HEAD"])


def _matches(if_none_match: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or etag in tags


if __name__ == "__main__":
    # python -m server.sdk [ORIGIN]: the pinned <script> tag for this release (README, partners).
    print(script_tag(sys.argv[1] if len(sys.argv) > 1 else "https://metrics.example.com"))
