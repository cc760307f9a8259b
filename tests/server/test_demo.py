"""The demo pages `gigmetrics serve` shows a newcomer: each carries the snippet and the
pinned attributes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.demo import DEMO_ADMIN_KEY
from server.settings import Settings


def client_for(tmp_path: Path, admin_key: str | None) -> TestClient:
    tmp_path.mkdir(exist_ok=True)
    settings = Settings(database_url=f"sqlite:///{tmp_path}/d.db", admin_key=admin_key)
    return TestClient(create_app(settings))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path, DEMO_ADMIN_KEY) as c:
        yield c


def test_search_page_has_48_tiles_and_48_more_to_load(client: TestClient) -> None:
    page = client.get("/demo/search", params={"q": "logo design"}).text
    assert 'src="/sdk.js"' in page
    assert 'data-gm-list="search"' in page and 'data-gm-context="logo design"' in page
    shown, more = page.split('<template id="next-page">')
    assert len(re.findall(r"data-gm-gig=", shown)) == 48
    assert len(re.findall(r"data-gm-gig=", more)) == 48


def test_category_and_seller_pages_name_their_surface(client: TestClient) -> None:
    category = client.get("/demo/category/logo-design")
    assert category.status_code == 200 and 'data-gm-list="category"' in category.text
    seller = client.get("/demo/seller/alice")
    assert seller.status_code == 200 and 'data-gm-list="user_page"' in seller.text
    assert 'data-gm-seller="alice"' in seller.text


def test_gig_page_marks_its_gig_and_unknown_gigs_are_404(client: TestClient) -> None:
    page = client.get("/demo/gig/g-101").text
    assert 'data-gm-page-gig="g-101"' in page and 'src="/sdk.js"' in page
    assert client.get("/demo/gig/no-such-gig").status_code == 404


def test_index_links_graphiql_and_shows_only_the_local_demo_key(
    client: TestClient, tmp_path: Path
) -> None:
    page = client.get("/").text
    assert 'href="/graphql"' in page and f"Bearer {DEMO_ADMIN_KEY}" in page
    with client_for(tmp_path / "real", "a-real-secret-key") as real:
        shown = real.get("/").text
    assert "a-real-secret-key" not in shown and "YOUR_GIGMETRICS_ADMIN_KEY" in shown


def test_demo_pages_can_be_turned_off(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/d.db", demo=False)
    with TestClient(create_app(settings)) as off:
        assert off.get("/demo/search").status_code == 404
