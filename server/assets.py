"""The built browser apps: `GET /dashboard`, GraphiQL's page, and their files under `/static/`.

They are built from `sdk_js/` by esbuild into `sdk_js/dist/` (committed, like the snippet), so
the server needs no Node and no CDN. Pages link their files as `/static/NAME?v=HASH`: a file
asked for with its current hash may be cached for a year, anything else revalidates.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

# Links to sdk_js/dist/ in the tree; a built wheel carries the files themselves.
STATIC = Path(__file__).resolve().parent / "static"
FILES = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "graphiql.js": "text/javascript",
    "graphiql.css": "text/css",
}
PAGES = ("dashboard.html", "graphiql.html")
IMMUTABLE = "public, max-age=31536000, immutable"
# The dashboard signs in with a key typed into it: no framing, no third-party anything.
PAGE_HEADERS = {
    "cache-control": "no-cache",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
# Every page's icon, also at /favicon.ico (browsers ask for it unprompted): a small SVG, which
# Chromium, Firefox and Safari take at any path when its type says so.
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<rect width="32" height="32" rx="6" fill="#2457a6"/>'
    b'<rect x="6" y="17" width="5" height="9" fill="#fff"/>'
    b'<rect x="13.5" y="11" width="5" height="15" fill="#fff"/>'
    b'<rect x="21" y="6" width="5" height="20" fill="#fff"/></svg>'
)
FAVICON_HEADERS = {"cache-control": "public, max-age=86400", "x-content-type-options": "nosniff"}
_LINK = re.compile(r'/static/([a-z]+\.(?:js|css))"')


class Asset:
    """One built file, its gzip and its content-hash ETag, read on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.body = b""
        self.gzipped = b""
        self.version = ""
        self.loaded = False

    def load(self) -> bool:
        if not self.loaded:
            try:
                body = self.path.read_bytes()
            except FileNotFoundError:
                return False
            self.body = body
            self.gzipped = gzip.compress(body, compresslevel=9, mtime=0)
            self.version = hashlib.sha256(body).hexdigest()[:16]
            self.loaded = True
        return True


def _missing(name: str) -> Response:
    return PlainTextResponse(
        f"gigmetrics: {name} is not built: run `npm ci && npm run build` in sdk_js/",
        status_code=500,
    )


class Assets:
    """The built files and the pages that link them."""

    def __init__(self, root: Path = STATIC) -> None:
        self.files = {name: Asset(root / name) for name in FILES}
        self.pages = {name: Asset(root / name) for name in PAGES}
        self._html: dict[str, bytes] = {}

    def page(self, name: str) -> Response:
        """A page with its links pinned to the current file versions."""
        html = self._html.get(name)
        if html is None:
            page = self.pages[name]
            if not page.load() or not all(a.load() for a in self.files.values()):
                return _missing(name)

            def pin(match: re.Match[str]) -> str:
                asset = self.files.get(match[1])
                suffix = f"?v={asset.version}" if asset is not None else ""
                return f'/static/{match[1]}{suffix}"'

            html = self._html[name] = _LINK.sub(pin, page.body.decode()).encode()
        return Response(html, media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        """`GET /static/NAME`, gzipped when the client takes it."""
        name = request.path_params["name"]
        asset = self.files.get(name)
        if asset is None:
            return PlainTextResponse(f"no static file {name!r}", status_code=404)
        if not asset.load():
            return _missing(name)
        etag = f'"{asset.version}"'
        pinned = request.query_params.get("v") == asset.version
        headers = {"etag": etag, "cache-control": IMMUTABLE if pinned else "no-cache",
                   "vary": "accept-encoding", "x-content-type-options": "nosniff"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = asset.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            body = asset.gzipped
            headers["content-encoding"] = "gzip"
        return Response(body, media_type=FILES[name], headers=headers)


def asset_routes(assets: Assets) -> list[Route]:
    """`/dashboard`, `/static/NAME` and the icon."""

    async def dashboard(request: Request) -> Response:
        return assets.page("dashboard.html")

    async def favicon(request: Request) -> Response:
        return Response(FAVICON, media_type="image/svg+xml", headers=FAVICON_HEADERS)

    return [
        Route("/dashboard", dashboard, methods=["GET", "HEAD"]),
        Route("/favicon.ico", favicon, methods=["GET", "HEAD"]),
        Route("/favicon.svg", favicon, methods=["GET", "HEAD"]),
        Route("/static/{name}", assets.static, methods=["GET", "HEAD"]),
    ]
