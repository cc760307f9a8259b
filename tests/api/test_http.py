"""`/graphql` over HTTP: the route, GraphiQL on and off, and masked internal errors."""

from __future__ import annotations

from typing import Any

import pytest

from server.errors import StoreUnavailable

from .api_harness import ADMIN_KEY, Api, ApiFactory


def test_post_graphql_is_answered_in_place(api: Api) -> None:
    response = api.client.post(
        "/graphql", json={"query": "{ viewer { isAdmin } }"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"}, follow_redirects=False,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"isAdmin": True}}}


def test_graphiql_is_served_when_on(api: Api) -> None:
    response = api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_graphiql_is_not_served_when_off(make_api: ApiFactory) -> None:
    api = make_api(graphiql=False)
    response = api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


def test_get_queries_still_need_a_key(api: Api) -> None:
    response = api.client.get("/graphql", params={"query": "{ viewer { isAdmin } }"})
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_mutations_over_get_are_405_allowing_post(api: Api) -> None:
    response = api.client.get(
        "/graphql",
        params={"query": "mutation { recordEvents(events: []) { accepted } }"},
        headers={"authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    error = response.json()["errors"][0]
    assert "mutations are not allowed when using GET" in error["message"]
    assert error["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_an_internal_error_is_masked(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any) -> Any:
        raise RuntimeError("connection to db-7.internal:5432 refused (password=hunter2)")

    monkeypatch.setattr(api.store, "surface_totals", broken)
    body = api.post('{ gigMetrics(gigId: "g-1") { clicks } }')
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Unexpected error."]
    assert "hunter2" not in str(body)


def test_a_store_outage_says_so(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(*args: Any) -> Any:
        raise StoreUnavailable("the store did not answer in time")

    monkeypatch.setattr(api.store, "span_totals", down)
    error = api.error('{ gigMetrics(gigId: "g-1") { clicks daily { clicks } } }')
    assert error["message"] == "the store did not answer in time: retry later"
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"


def test_an_unknown_field_says_so(api: Api) -> None:
    error = api.error('{ gigMetrics(gigId: "g-1") { clickz } }')
    assert "Cannot query field 'clickz'" in error["message"]
    assert "clicks" in error["message"]  # the suggestion is kept


def test_browser_dashboards_get_cors_only_from_configured_origins(make_api: ApiFactory) -> None:
    api = make_api(api_origins=("https://dash.example",))
    preflight = api.client.options("/graphql", headers={
        "origin": "https://dash.example", "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://dash.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in preflight.headers
    answer = api.client.post("/graphql", json={"query": "{ viewer { isAdmin } }"}, headers={
        "origin": "https://dash.example", "authorization": f"Bearer {ADMIN_KEY}"})
    assert answer.json()["data"]["viewer"]["isAdmin"] is True
    assert answer.headers["access-control-allow-origin"] == "https://dash.example"
    other = api.client.post("/graphql", json={"query": "{ viewer { isAdmin } }"}, headers={
        "origin": "https://evil.example", "authorization": f"Bearer {ADMIN_KEY}"})
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_on_graphql_by_default(api: Api) -> None:
    answer = api.client.post("/graphql", json={"query": "{ viewer { isAdmin } }"}, headers={
        "origin": "https://dash.example", "authorization": f"Bearer {ADMIN_KEY}"})
    assert "access-control-allow-origin" not in answer.headers
