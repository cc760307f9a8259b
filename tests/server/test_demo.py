"""The demo pages `gigmetrics serve` shows a newcomer: each carries the snippet and the
pinned attributes."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from server.app import create_app
from server.demo import DEMO_ADMIN_KEY, EXPERIMENTS
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


def test_experiment_tiles_show_one_of_their_variants(client: TestClient) -> None:
    seen = set()
    for _ in range(24):
        page = client.get("/").text
        [tile] = re.findall(r'<a class="tile"[^>]*data-gm-gig="g-101"[^>]*>', page)
        seen.update(re.findall(r'data-gm-variant="([^"]*)"', tile))
        assert len(re.findall(r"data-gm-variant=", page)) == 1  # g-102 is not on the homepage
    assert seen == set(EXPERIMENTS["g-101"])
    other = re.findall(r'<a class="tile"[^>]*data-gm-gig="g-110"[^>]*>',
                       client.get("/").text)[0]
    assert "data-gm-variant" not in other


def test_the_order_button_leads_to_a_confirmation_that_reports_the_order(
    client: TestClient
) -> None:
    gig_page = client.get("/demo/gig/g-101").text
    assert 'href="/demo/order/g-101"' in gig_page
    placed = client.get("/demo/order/g-101", follow_redirects=False)
    assert placed.status_code == 303
    order_id = placed.headers["location"].split("?id=")[1]
    assert re.fullmatch(r"ORD-[0-9A-F]{12}", order_id)
    page = client.get(placed.headers["location"]).text
    assert f'data-gm-order="{order_id}" data-gm-order-gig="g-101"' in page
    assert 'data-gm-value="15" data-gm-currency="USD"' in page and 'src="/sdk.js"' in page
    # A reload is the same order; another order is another id.
    assert client.get(placed.headers["location"]).text == page
    again = client.get("/demo/order/g-101", follow_redirects=False).headers["location"]
    assert again != placed.headers["location"]
    assert client.get("/demo/order/g-101?id=bad").status_code == 404
    assert client.get("/demo/order/no-such-gig?id=ORD-123456789").status_code == 404


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


@pytest.mark.parametrize("path", ["/", "/demo/search", "/demo/gig/g-101", "/demo/seller/alice"])
def test_demo_pages_cannot_be_framed_and_run_only_their_own_scripts(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    allowed = set(re.findall(r"'sha256-([^']+)'", policy))
    for script in re.findall(r"<script>(.*?)</script>", response.text, re.S):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert digest in allowed, "an inline script the policy would block"


def test_every_kind_of_answer_says_nosniff(client: TestClient) -> None:
    answers = [
        client.get("/healthz"),
        client.get("/sdk.js"),
        client.get("/dashboard"),
        client.post("/collect", content=b'{"events": []}', headers={"content-type": "text/plain"}),
        client.post("/collect", content=b"not json", headers={"content-type": "text/plain"}),
        client.post("/graphql", json={"query": "{ __typename }"}),
        client.get("/no-such-page"),
    ]
    assert [a.headers.get("x-content-type-options") for a in answers] == ["nosniff"] * 7


def test_the_dashboard_page_allows_no_base_and_no_form_posts(client: TestClient) -> None:
    policy = client.get("/dashboard").headers["content-security-policy"]
    assert "base-uri 'none'" in policy and "form-action 'none'" in policy
