"""GraphQL over HTTP: media types, status codes, and malformed bodies that say what is wrong."""

from __future__ import annotations

import base64
import json

import pytest

from .api_harness import ADMIN_KEY, Api

AUTH = {"authorization": f"Bearer {ADMIN_KEY}"}
JSON = {**AUTH, "content-type": "application/json"}
GRAPHQL_RESPONSE = "application/graphql-response+json"
DEEP = "[" * 5000 + "]" * 5000
Q = "{ viewer { isAdmin } }"
TOP_AFTER = '{ topGigs(by: CLICKS, after: "CURSOR") { totalCount } }'


def post(api: Api, body: str | bytes, **headers: str) -> tuple[int, str, dict[str, object]]:
    response = api.client.post("/graphql", content=body, headers={**JSON, **headers})
    return response.status_code, response.headers["content-type"], response.json()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('{"query": "' + Q + '", "variables": {"a": ' + DEEP + "}}", "not valid JSON"),
        ('{"query": "' + Q + '", "extensions": {"a": ' + DEEP + "}}", "not valid JSON"),
        (b'{"query": "{ viewer { isAdmin } }", "x": "\xff"}', "not UTF-8"),
        ("{not json", "not valid JSON"),
        ("5", "the body is a number"),
        ('"{ viewer { isAdmin } }"', "the body is a string"),
        ("null", "the body is null"),
        ("[]", "the batch is an empty list"),
        ("[5]", "batch item 0: the body is a number"),
        ("[" + ",".join(['{"query": "{ viewer { isAdmin } }"}'] * 11) + "]", "at most 10"),
        ('{"query": 5}', '"query" must be'),
        ('{"variables": {}}', '"query" must be'),
        ('{"query": "{ viewer { isAdmin } }", "variables": [1]}', "variables"),
    ],
)
def test_a_malformed_body_is_400_saying_what_is_wrong(
    api: Api, body: str | bytes, says: str
) -> None:
    status, _, answer = post(api, body)
    assert status == 400
    errors = answer["errors"]
    assert isinstance(errors, list)
    assert says in errors[0]["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(api: Api, content_type: str) -> None:
    status, _, answer = post(api, '{"query": "{ viewer { isAdmin } }"}',
                             **{"content-type": content_type})
    assert status == 415
    assert "application/json" in str(answer)


def test_graphql_response_json_is_answered_when_accepted(api: Api) -> None:
    body = json.dumps({"query": "{ viewer { isAdmin } }"})
    status, media, answer = post(api, body, accept=f"{GRAPHQL_RESPONSE}, application/json;q=0.9")
    assert (status, media) == (200, GRAPHQL_RESPONSE)
    assert answer == {"data": {"viewer": {"isAdmin": True}}}
    status, media, _ = post(api, body)
    assert (status, media) == (200, "application/json")


@pytest.mark.parametrize(
    ("query", "variables", "code"),
    [
        ("{ viewer { isAdmin }", None, "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
        ('query($g: ID!) { gigMetrics(gigId: $g) { clicks } }', {"g": {"x": 1}},
         "BAD_USER_INPUT"),
    ],
)
def test_a_request_that_never_ran_is_400_without_data_under_graphql_response_json(
    api: Api, query: str, variables: object, code: str
) -> None:
    body = json.dumps({"query": query, "variables": variables})
    status, media, answer = post(api, body, accept=GRAPHQL_RESPONSE)
    assert (status, media) == (400, GRAPHQL_RESPONSE)
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == code  # type: ignore[index]
    # application/json clients keep the 200 they always had, with the same code.
    status, _, answer = post(api, body)
    assert status == 200 and "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == code  # type: ignore[index]


def test_a_field_error_stays_200_with_data_null(api: Api) -> None:
    body = json.dumps({"query": '{ gigMetrics(gigId: "g-1") { clicks } }'})
    status, _, answer = post(api, body, accept=GRAPHQL_RESPONSE, authorization="Bearer nope")
    assert status == 200
    assert answer["data"] is None


def test_a_range_ending_in_year_9999_is_a_clear_error(api: Api) -> None:
    error = api.error(
        '{ gigMetrics(gigId: "g-1", range: {from: "9999-12-01", to: "9999-12-31"}) { clicks } }'
    )
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "range.to 9999-12-31 is after today" in error["message"]


@pytest.mark.parametrize(
    "cursor_json", ["[" * 5000 + "]" * 5000, '["t:CLICKS:*", [[[[1]]]]]', "[" * 300 + "]" * 300]
)
def test_a_cursor_of_nested_json_is_a_clear_error(api: Api, cursor_json: str) -> None:
    cursor = base64.urlsafe_b64encode(cursor_json.encode()).decode()
    error = api.error(TOP_AFTER.replace("CURSOR", cursor))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not a cursor of this API" in error["message"]
    assert len(error["message"]) < 400


def test_long_user_input_is_not_echoed_whole(api: Api) -> None:
    long_name = "a" * 100_000
    for query in (
        "{ " + long_name + " }",
        '{ gigMetrics(gigId: "g", timeZone: "' + long_name + '") { clicks } }',
        TOP_AFTER.replace("CURSOR", long_name),
    ):
        body = api.post(query)
        assert len(json.dumps(body)) < 2000, query[:40]


def test_an_aborted_graphql_upload_is_one_log_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def disconnected() -> dict[str, object]:
        return {"type": "http.disconnect"}

    app = api.client.app
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql",
        "query_string": b"", "root_path": "", "scheme": "http", "server": ("t", 80),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "state": {},
    }
    with caplog.at_level("INFO"):
        api.client.portal.call(app, scope, disconnected, send)  # type: ignore[union-attr,arg-type]
    assert not any(r.exc_info for r in caplog.records)
    assert [r.getMessage() for r in caplog.records if "went away" in r.getMessage()]
