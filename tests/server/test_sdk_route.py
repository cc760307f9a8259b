"""`GET /sdk.js`: the committed build is current, within budget, and served cacheably."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.sdk import SDK_PATH, sdk_route

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
