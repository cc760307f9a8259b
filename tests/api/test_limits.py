"""Query limits: depth 10, 20 aliases, 2,000 tokens; refusals name the limit hit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    error = response.json()["errors"][0]
    assert "over 262144 bytes" in error["message"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_graphql_body_under_the_limit_is_answered(api: Api) -> None:
    padding = " " * (200 * 1024)
    response = api.client.post(
        "/graphql",
        content=('{"query": "{ viewer { isAdmin } }"' + padding + "}").encode(),
        headers={"content-type": "application/json", "authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["isAdmin"] is True


DAILY_RANKING = (
    "{a}: topGigs(by: CLICKS, first: {first}, range: {{from: \"{start}\", to: \"{end}\"}}) "
    "{{ edges {{ node {{ gigId daily {{ date clicks }} }} }} }}"
)


def days_to_today(days: int) -> dict[str, str]:
    """A range of `days` whole UTC days ending today."""
    today = datetime.now(UTC).date()
    return {"start": str(today - timedelta(days=days - 1)), "end": str(today)}


def test_costly_rankings_within_the_other_limits_are_refused_before_they_run(api: Api) -> None:
    # 20 aliases x 100 gigs x a 398-day series: what froze the server for 21 s.
    query = "{ " + " ".join(
        DAILY_RANKING.format(a=f"r{n}", first=100, **days_to_today(398)) for n in range(20)
    ) + " }"
    body = api.post(query)
    error = body["errors"][0]
    assert error["message"].startswith("Query refused by the cost limit")
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": "cost"}
    assert "data" not in body or body["data"] is None


def test_the_cost_counts_variables_and_defaults(api: Api) -> None:
    ranking = "topGigs(by: CLICKS, first: $n, range: $range) { edges { node { daily { date } } } }"
    query = f"query($n: Int!, $range: DateRangeInput) {{ a: {ranking} b: {ranking} }}"
    year, month = days_to_today(365), days_to_today(30)
    refused = api.post(query, n=100, range={"from": year["start"], "to": year["end"]})
    assert refused["errors"][0]["extensions"]["limit"] == "cost"
    answered = api.post(query, n=50, range={"from": month["start"], "to": month["end"]})
    assert "errors" not in answered, answered
    assert "errors" not in api.post(query, n=50, range=None)  # 2 x 31 days x 50 gigs


def test_the_dashboards_largest_page_is_answered(api: Api) -> None:
    # A seller page of 10 gigs, each with a 400-day series (the dashboard's longest range).
    query = "{ " + DAILY_RANKING.format(a="page", first=10, **days_to_today(400)) + " }"
    assert "errors" not in api.post(query)
