"""`GET /dashboard`, GraphiQL's page and `/static/*`: built files, served locally, cacheably."""

from __future__ import annotations

import gzip
import re

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.api import graphql_routes
from server.assets import FILES, STATIC, Assets, asset_routes
from server.settings import Settings
from server.stores import SQLiteStore

DASHBOARD_BUDGET = 80 * 1024


@pytest.fixture
def client(tmp_path: object) -> TestClient:
    assets = Assets()
    store = SQLiteStore(f"{tmp_path}/a.db")
    routes = [*asset_routes(assets), *graphql_routes(store, Settings(), assets)]
    return TestClient(Starlette(routes=routes))


def test_the_dashboard_javascript_fits_its_budget() -> None:
    size = len(gzip.compress((STATIC / "dashboard.js").read_bytes(), compresslevel=9))
    assert size <= DASHBOARD_BUDGET, f"dashboard.js is {size} bytes gzipped, over 80 KB"


def test_the_dashboard_page_links_its_files_by_version(client: TestClient) -> None:
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers
    links = re.findall(r'/static/([a-z]+\.(?:js|css))\?v=([0-9a-f]{16})"', response.text)
    assert {name for name, _ in links} == {"dashboard.js", "dashboard.css"}
    for name, version in links:
        pinned = client.get(f"/static/{name}?v={version}")
        assert pinned.status_code == 200
        assert "immutable" in pinned.headers["cache-control"]
        assert pinned.content == (STATIC / name).read_bytes()  # httpx un-gzips


def test_static_files_revalidate_without_their_version(client: TestClient) -> None:
    first = client.get("/static/dashboard.js")
    assert first.headers["cache-control"] == "no-cache"
    assert first.headers["content-encoding"] == "gzip"
    again = client.get("/static/dashboard.js", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/nope.js").status_code == 404
    assert client.get("/static/..%2Fsdk.js").status_code == 404
    assert set(FILES) == {"dashboard.js", "dashboard.css", "graphiql.js", "graphiql.css"}


def test_graphiql_is_served_from_this_server_not_a_cdn(client: TestClient) -> None:
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "/static/graphiql.js?v=" in response.text
    assert "https://" not in response.text and "http://" not in response.text
    assert "unpkg" not in response.text and "jsdelivr" not in response.text


@pytest.mark.parametrize("path", ["/favicon.ico", "/favicon.svg"])
def test_the_icon_is_served_so_no_page_logs_a_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.content.startswith(b"<svg") and len(response.content) < 1024
    assert "max-age" in response.headers["cache-control"]


def test_every_page_links_the_icon(client: TestClient) -> None:
    assert '<link rel="icon" href="/favicon.svg"' in client.get("/dashboard").text
    assert '<link rel="icon" href="/favicon.svg"' in client.get(
        "/graphql", headers={"accept": "text/html"}).text
