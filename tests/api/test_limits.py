"""Query limits: depth 10, 20 aliases, 2,000 tokens; refusals name the limit hit."""

from __future__ import annotations

from .api_harness import ADMIN_KEY, Api

VIEWER = "viewer { isAdmin }"


def nested(depth: int) -> str:
    """A query `depth` selection sets deep below its root fields, as the limiter counts:
    `{ a { b } }` is 1 deep. No type of the schema nests that far, so the field names are
    unknown: the depth limit is checked all the same, and reported by name."""
    return "{ " + "a { " * depth + "b" + " }" * depth + " }"


def test_depth_11_is_refused_naming_the_depth_limit(api: Api) -> None:
    body = api.post(nested(11))
    messages = [e["message"] for e in body["errors"]]
    refusal = next(e for e in body["errors"] if "depth limit" in e["message"])
    assert "more than 10 levels" in refusal["message"]
    assert refusal["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "depth"}
    assert "data" not in body, messages  # refused before execution: no data entry at all


def test_depth_10_passes_the_depth_limit(api: Api) -> None:
    body = api.post(nested(10))
    assert not any("depth" in e["message"] for e in body["errors"])  # only unknown fields


def test_21_aliases_are_refused_naming_the_alias_limit(api: Api) -> None:
    query = "{ " + " ".join(f"a{n}: {VIEWER}" for n in range(21)) + " }"
    error = api.error(query)
    assert error["message"].startswith("Query refused by the alias limit")
    assert "21 aliases" in error["message"]
    assert "at most 20" in error["message"]
    assert error["extensions"]["limit"] == "aliases"


def test_20_aliases_are_answered(api: Api) -> None:
    query = "{ " + " ".join(f"a{n}: {VIEWER}" for n in range(20)) + " }"
    data = api.data(query)
    assert len(data) == 20


def test_2001_tokens_are_refused_naming_the_token_limit(api: Api) -> None:
    # `{ viewer { isAdmin` + k more `isAdmin` + `} }` is 6 + k tokens.
    query = "{ viewer { isAdmin" + " isAdmin" * 1995 + " } }"
    error = api.error(query)
    assert error["message"].startswith("Query refused by the token limit")
    assert "more than 2000 tokens" in error["message"]
    assert error["extensions"]["limit"] == "tokens"


def test_2000_tokens_are_answered(api: Api) -> None:
    # The token limit counts comments too; 1,994 comment lines + 6 tokens is exactly 2,000.
    query = "#\n" * 1994 + "{ viewer { isAdmin } }"
    assert api.data(query) == {"viewer": {"isAdmin": True}}


def test_graphql_body_over_256_kib_is_413_before_it_is_read(api: Api) -> None:
    padding = " " * (256 * 1024)
    response = api.client.post(
        "/graphql",
        content=('{"query": "{ viewer { isAdmin } }"' + padding + "}").encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 413
    assert "over 262144 bytes" in response.json()["errors"][0]["message"]


def test_graphql_body_under_the_limit_is_answered(api: Api) -> None:
    padding = " " * (200 * 1024)
    response = api.client.post(
        "/graphql",
        content=('{"query": "{ viewer { isAdmin } }"' + padding + "}").encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["isAdmin"] is True
