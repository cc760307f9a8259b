"""The README's pinned `<script>` tag is this release's: its URL names `gigmetrics --version`
and its integrity hash is that of the bytes the server sends."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from server import __version__
from server.sdk import script_tag, sdk_route

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
PINNED = re.compile(r'<script src="(https://[^"]+)(/sdk/[^"/]+/sdk\.js)" integrity="([^"]+)"[^>]*>')


def test_the_readme_pins_this_releases_snippet() -> None:
    [(origin, path, _)] = PINNED.findall(README)
    assert path == f"/sdk/{__version__}/sdk.js"
    # `python -m server.sdk ORIGIN` prints it: regenerate the README's tag after a build.
    assert script_tag(origin) in README, "stale: run `python -m server.sdk " + origin + "`"


def test_the_pinned_hash_matches_the_served_bytes() -> None:
    [(_, path, pinned)] = PINNED.findall(README)
    served = TestClient(Starlette(routes=[sdk_route()])).get(path)
    assert served.status_code == 200
    digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
    assert pinned == f"sha384-{digest}"
