"""What partners' GraphQL clients expect beyond the core: Apollo's automatic persisted
queries, trusted documents, batched requests, CORS for client headers, error codes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from server.api.documents import Documents, PersistedQueryNotFound, load_trusted
from server.errors import SettingsError

from .api_harness import ADMIN_KEY, Api, ApiFactory

VIEWER = "{ viewer { isAdmin } }"
AUTH = {"authorization": f"Bearer {ADMIN_KEY}"}
GRAPHQL_RESPONSE = {"accept": "application/graphql-response+json"}


def sha(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(query)}}


def post(api: Api, body: Any, **headers: str) -> tuple[int, Any]:
    response = api.client.post("/graphql", json=body, headers={**AUTH, **headers})
    return response.status_code, response.json()


@pytest.mark.parametrize("accept", [{}, GRAPHQL_RESPONSE])
def test_an_unknown_hash_is_200_persisted_query_not_found_then_the_query_registers_it(
    api: Api, accept: dict[str, str]
) -> None:
    query = "{ viewer { isAdmin keyName } }" + " " * len(accept)  # a hash per case
    status, body = post(api, {"extensions": persisted(query)}, **accept)
    assert status == 200
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert "data" not in body
    status, body = post(api, {"query": query, "extensions": persisted(query)}, **accept)
    assert (status, body["data"]["viewer"]["isAdmin"]) == (200, True)
    status, body = post(api, {"extensions": persisted(query)}, **accept)
    assert (status, body["data"]["viewer"]["keyName"]) == (200, "admin")


def test_a_persisted_query_runs_over_get(api: Api) -> None:
    post(api, {"query": VIEWER, "extensions": persisted(VIEWER)})
    response = api.client.get(
        "/graphql", params={"extensions": json.dumps(persisted(VIEWER))},
        headers={**AUTH, "accept": "*/*"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["isAdmin"] is True


@pytest.mark.parametrize(
    ("extensions", "says"),
    [
        ({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}, "does not match"),
        ({"persistedQuery": {"version": 2, "sha256Hash": sha(VIEWER)}}, "version"),
        ({"persistedQuery": {"version": 1, "sha256Hash": "abc"}}, "64 hex digits"),
        ({"persistedQuery": "x"}, "version"),
    ],
)
def test_a_wrong_hash_or_version_is_refused_and_not_registered(
    api: Api, extensions: dict[str, Any], says: str
) -> None:
    status, body = post(api, {"query": VIEWER, "extensions": extensions})
    assert status == 200
    assert says in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    _, again = post(api, {"extensions": {"persistedQuery": {"version": 1,
                                                              "sha256Hash": "0" * 64}}})
    assert again["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_the_cache_is_bounded_least_recently_used_out_first() -> None:
    documents = Documents(max_documents=2)
    queries = ["{ a }", "{ b }", "{ c }"]
    for query in queries[:2]:
        documents.resolve(query, persisted(query))
    documents.resolve(None, persisted(queries[0]))  # used: b is now the oldest
    documents.resolve(queries[2], persisted(queries[2]))
    assert documents.resolve(None, persisted(queries[0])) == queries[0]
    with pytest.raises(PersistedQueryNotFound):
        documents.resolve(None, persisted(queries[1]))


def test_the_cache_is_bounded_in_size_too() -> None:
    documents = Documents(max_chars=10)
    big = "{ " + "x " * 10 + "}"
    documents.resolve(big, persisted(big))
    with pytest.raises(PersistedQueryNotFound):
        documents.resolve(None, persisted(big))


def test_trusted_documents_run_and_nothing_else(make_api: ApiFactory, tmp_path: Path) -> None:
    listed = "query Me { viewer { isAdmin } }"
    manifest = {"format": "apollo-persisted-query-manifest", "version": 1,
                "operations": [{"id": sha(listed), "name": "Me", "type": "query",
                                "body": listed}]}
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps(manifest))
    api = make_api(trusted_documents=str(path))
    for body in ({"query": listed}, {"extensions": persisted(listed)}):
        status, answer = post(api, body)
        assert (status, answer["data"]["viewer"]["isAdmin"]) == (200, True)
    other = "{ viewer { isAdmin keyName } }"
    for body in ({"query": other}, {"query": other, "extensions": persisted(other)},
                 {"extensions": persisted(other)}):
        _, answer = post(api, body)
        assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    # Nothing was learnt from the refused registration.
    _, answer = post(api, {"extensions": persisted(other)})
    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"


def test_a_trusted_documents_file_is_checked_at_start(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"0" * 64: "{ viewer { isAdmin } }"}))
    with pytest.raises(SettingsError, match="not the SHA-256 of its document"):
        load_trusted(str(path))
    with pytest.raises(SettingsError, match="cannot be read"):
        load_trusted(str(tmp_path / "missing.json"))
    path.write_text(json.dumps({sha(VIEWER): VIEWER}))
    assert load_trusted(str(path)) == {sha(VIEWER): VIEWER}


def test_a_batch_answers_each_operation_in_order(api: Api) -> None:
    batch = [
        {"query": VIEWER},
        {"query": "{ viewer { nope } }"},
        {"query": "query($g: ID!) { gigMetrics(gigId: $g) { gigId } }",
         "variables": {"g": "g-1"}},
    ]
    status, body = post(api, batch, **GRAPHQL_RESPONSE)
    assert status == 200
    assert body[0] == {"data": {"viewer": {"isAdmin": True}}}
    assert body[1]["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body[2]["data"]["gigMetrics"]["gigId"] == "g-1"


def test_a_batch_over_ten_operations_is_refused_saying_the_limit(api: Api) -> None:
    status, body = post(api, [{"query": VIEWER}] * 11)
    assert status == 400
    assert "at most 10" in body["errors"][0]["message"]


def test_cors_allows_apollo_client_headers_and_exposes_the_request_id(
    make_api: ApiFactory,
) -> None:
    api = make_api(api_origins=("https://dash.example",))
    asked = "authorization, content-type, apollographql-client-name, " \
            "apollographql-client-version, x-request-id"
    preflight = api.client.options("/graphql", headers={
        "origin": "https://dash.example", "access-control-request-method": "POST",
        "access-control-request-headers": asked})
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert all(h.strip() in allowed for h in asked.split(","))
    answer = api.client.post("/graphql", json={"query": VIEWER},
                             headers={**AUTH, "origin": "https://dash.example"})
    assert answer.headers["access-control-expose-headers"].lower() == "x-request-id"
    assert answer.headers["x-request-id"]
    refused = api.client.options("/graphql", headers={
        "origin": "https://dash.example", "access-control-request-method": "POST",
        "access-control-request-headers": "x-secret-thing"})
    assert refused.status_code == 400


def test_cors_headers_are_configurable(make_api: ApiFactory) -> None:
    api = make_api(api_origins=("https://dash.example",), api_headers=("authorization",
                                                                        "x-tenant"))
    preflight = api.client.options("/graphql", headers={
        "origin": "https://dash.example", "access-control-request-method": "POST",
        "access-control-request-headers": "x-tenant"})
    assert preflight.status_code == 200


def test_a_bad_date_literal_carries_a_code(api: Api) -> None:
    query = '{ gigMetrics(gigId: "g", range: {from: "2025-13-01", to: "2025-12-01"}) { clicks } }'
    error = api.error(query)
    assert "check the month" in error["message"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
