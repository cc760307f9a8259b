"""`GET /sdk.js` and `GET /sdk/VERSION/sdk.js`: the committed build is current, within budget,
and served cacheably; the versioned URL is immutable and matches its SRI hash."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server import __version__
from server.sdk import SDK_PATH, integrity, script_tag, sdk_route, versioned_path

SDK_JS = Path(__file__).resolve().parents[2] / "sdk_js"
BUDGET_BYTES = 2048


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=[sdk_route()]))


def test_the_committed_build_matches_the_sources(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (SDK_JS / "node_modules" / "esbuild").is_dir():
        pytest.skip("sdk_js/node_modules is missing: run `npm ci` in sdk_js (CI does)")
    subprocess.run([node, str(SDK_JS / "build.mjs"), "--outdir", str(tmp_path)], check=True,
                   cwd=SDK_JS, timeout=120)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in (SDK_JS / "dist").iterdir())
    stale = [name for name in built
             if (tmp_path / name).read_bytes() != (SDK_JS / "dist" / name).read_bytes()]
    assert stale == [], (
        f"sdk_js/dist/{', '.join(stale)} stale: run `npm run build` in sdk_js and commit dist/"
    )
    assert (tmp_path / "sdk.js").read_bytes() == SDK_PATH.read_bytes()


def test_the_npm_package_has_the_servers_version() -> None:
    # One version names the release everywhere: `gigmetrics --version`, /sdk/VERSION/sdk.js and
    # the npm package.
    package = json.loads((SDK_JS / "package.json").read_text())
    assert package["version"] == __version__


def test_the_snippet_fits_the_size_budget() -> None:
    size = len(gzip.compress(SDK_PATH.read_bytes(), compresslevel=9))
    assert size <= BUDGET_BYTES, f"sdk.js is {size} bytes gzipped, over {BUDGET_BYTES}"


def test_sdk_js_is_javascript_anyone_may_load(client: TestClient) -> None:
    response = client.get("/sdk.js")
    assert response.status_code == 200
    assert response.content == SDK_PATH.read_bytes()
    assert response.headers["content-type"].split(";")[0] in {
        "text/javascript", "application/javascript"}
    assert response.headers["access-control-allow-origin"] == "*"
    assert "set-cookie" not in response.headers


def test_sdk_js_may_be_cached_for_at_least_an_hour(client: TestClient) -> None:
    directives = client.get("/sdk.js").headers["cache-control"].split(",")
    max_age = next(int(d.split("=")[1]) for d in directives if d.strip().startswith("max-age"))
    assert max_age >= 3600


def test_the_etag_is_a_hash_of_the_content(client: TestClient) -> None:
    etag = client.get("/sdk.js").headers["etag"]
    digest = hashlib.sha256(SDK_PATH.read_bytes()).hexdigest()
    assert etag.strip('"') and digest.startswith(etag.strip('"'))


def test_a_matching_if_none_match_gets_304(client: TestClient) -> None:
    etag = client.get("/sdk.js").headers["etag"]
    for header in (etag, f"W/{etag}", f'"other", {etag}'):
        response = client.get("/sdk.js", headers={"if-none-match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    assert client.get("/sdk.js", headers={"if-none-match": '"other"'}).status_code == 200


def test_a_changed_build_gets_a_new_etag(tmp_path: Path) -> None:
    one, two = tmp_path / "one.js", tmp_path / "two.js"
    one.write_text("var a=1;")
    two.write_text("var a=2;")
    etags = {TestClient(Starlette(routes=[sdk_route(p)])).get("/sdk.js").headers["etag"]
             for p in (one, two)}
    assert len(etags) == 2


def test_a_missing_build_says_how_to_make_it(tmp_path: Path) -> None:
    client = TestClient(Starlette(routes=[sdk_route(tmp_path / "sdk.js")]))
    response = client.get("/sdk.js")
    assert response.status_code == 500
    assert "npm run build" in response.text


def test_the_versioned_url_serves_the_same_bytes_immutably(client: TestClient) -> None:
    path = f"/sdk/{__version__}/sdk.js"
    assert versioned_path() == path
    response = client.get(path)
    assert response.status_code == 200
    assert response.content == client.get("/sdk.js").content == SDK_PATH.read_bytes()
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["content-type"].split(";")[0] == "text/javascript"
    assert response.headers["access-control-allow-origin"] == "*"  # SRI needs a CORS read
    assert response.headers["etag"] == client.get("/sdk.js").headers["etag"]
    etag = response.headers["etag"]
    assert client.get(path, headers={"if-none-match": etag}).status_code == 304


def test_sdk_js_keeps_a_short_cache(client: TestClient) -> None:
    cache_control = client.get("/sdk.js").headers["cache-control"]
    assert "immutable" not in cache_control
    assert cache_control == "public, max-age=86400"


def test_another_version_is_a_404_that_names_the_current_one(client: TestClient) -> None:
    for path in ("/sdk/0.0.1/sdk.js", "/sdk/latest/sdk.js", f"/sdk/{__version__}/other.js",
                 "/sdk/", "/sdk.jsx"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert f"/sdk/{__version__}/sdk.js" in response.text, response.text
        assert "cache-control" not in response.headers or "immutable" not in response.headers[
            "cache-control"]


def test_head_of_the_versioned_url(client: TestClient) -> None:
    response = client.head(f"/sdk/{__version__}/sdk.js")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(SDK_PATH.read_bytes())


def test_the_integrity_hash_is_sha384_of_the_served_bytes(client: TestClient) -> None:
    body = client.get(f"/sdk/{__version__}/sdk.js").content
    digest = base64.b64encode(hashlib.sha384(body).digest()).decode()
    assert integrity(body) == f"sha384-{digest}"
    tag = script_tag("https://metrics.example.com/")
    assert tag == (f'<script src="https://metrics.example.com/sdk/{__version__}/sdk.js" '
                   f'integrity="sha384-{digest}" crossorigin="anonymous" defer></script>')
