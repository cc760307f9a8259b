"""Keys: the admin key reads everything; a partner key only its sellers' gigs."""

from __future__ import annotations

import pytest

from server.keys import new_key

from .api_harness import HOUR_MS, Api, ApiFactory, CountingStore, Events, now_ms

GIG = '{ gigMetrics(gigId: "%s") { gigId servedImpressions } }'


@pytest.fixture
def two_sellers(api: Api, events: Events) -> Api:
    t = now_ms() - HOUR_MS
    api.collect([
        events.served("g-alice", "i1", t, seller="alice"),
        events.served("g-bob", "i1", t, seller="bob"),
        events.served("g-nobody", "i1", t),
    ])
    return api


def test_no_key_says_how_to_pass_one(api: Api) -> None:
    error = api.error(GIG % "g-1", key=None)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "Authorization: Bearer <key>" in error["message"]


def test_not_a_bearer_header(api: Api) -> None:
    response = api.client.post(
        "/graphql", json={"query": GIG % "g-1"}, headers={"authorization": "Basic dTpw"}
    )
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "not a Bearer key" in error["message"]


def test_unknown_key(api: Api) -> None:
    error = api.error(GIG % "g-1", key="gm_not-a-real-key")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "not known" in error["message"]


def test_revoked_key_is_refused(two_sellers: Api) -> None:
    key_id, secret = two_sellers.make_key("alice")
    assert two_sellers.data(GIG % "g-alice", key=secret)
    two_sellers.revoke(key_id)
    error = two_sellers.error(GIG % "g-alice", key=secret)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "revoked" in error["message"]


def test_admin_reads_every_gig(two_sellers: Api) -> None:
    for gig in ("g-alice", "g-bob", "g-nobody"):
        assert two_sellers.data(GIG % gig)["gigMetrics"]["servedImpressions"] == 1


def test_partner_reads_its_sellers_gig(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice")
    data = two_sellers.data(GIG % "g-alice", key=secret)
    assert data["gigMetrics"] == {"gigId": "g-alice", "servedImpressions": 1}


def test_partner_is_refused_another_sellers_gig(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice")
    body = two_sellers.post(GIG % "g-bob", key=secret)
    assert body["data"] is None  # never silently zero
    error = body["errors"][0]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "'g-bob' is not a gig this API key may read" in error["message"]
    assert "'alice'" in error["message"]
    assert "bob" not in error["message"].replace("g-bob", "")  # the owner stays private


def test_not_yours_and_no_such_gig_get_one_identical_refusal(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice")
    answers = []
    for gig in ("g-bob", "g-nobody", "g-never-seen"):
        body = two_sellers.post(GIG % gig, key=secret)
        answers.append(str(body).replace(gig, "GIG"))
    assert answers[0] == answers[1] == answers[2]


def test_not_yours_and_no_such_gig_cost_the_same_store_reads(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(wrap=CountingStore)
    api.collect([events.served("g-bob", "i1", now_ms() - HOUR_MS, seller="bob")])
    _, secret = api.make_key("alice")
    # A key's first use records it (touch_key): that depends on the key, not on the gig.
    api.post("{ viewer { isAdmin } }", key=secret)
    calls = []
    for gig in ("g-bob", "g-never-seen"):
        api.store.calls.clear()
        api.post(GIG % gig, key=secret)
        calls.append(dict(api.store.calls))
    assert calls[0] == calls[1]


def test_a_refused_gig_id_is_not_echoed_whole(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice")
    error = two_sellers.error(GIG % ("g" * 5000), key=secret)
    assert len(error["message"]) < 400


def test_partner_is_refused_another_sellers_list(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice")
    query = '{ sellerGigs(sellerId: "bob") { totalCount } }'
    error = two_sellers.error(query, key=secret)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "may not read seller 'bob'" in error["message"]


def test_viewer_tells_what_a_key_may_do(two_sellers: Api) -> None:
    _, secret = two_sellers.make_key("alice", "carol", write=True)
    query = "{ viewer { isAdmin sellers canWrite keyName } }"
    assert two_sellers.data(query, key=secret)["viewer"] == {
        "isAdmin": False, "sellers": ["alice", "carol"], "canWrite": True, "keyName": "partner"
    }
    assert two_sellers.data(query)["viewer"]["isAdmin"] is True


def test_the_key_and_sellers_are_looked_up_once_per_request(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(wrap=CountingStore)
    api.collect([events.served("g-a", "i1", now_ms() - HOUR_MS, seller="alice")])
    _, secret = api.make_key("alice")
    api.store.calls.clear()
    query = """{
      a: gigMetrics(gigId: "g-a") { clicks }
      b: gigMetrics(gigId: "g-a") { views }
      viewer { isAdmin }
    }"""
    api.data(query, key=secret)
    assert api.store.calls["key_by_hash"] == 1
    assert api.store.calls["seller_of"] == 1


def test_introspection_needs_no_key(api: Api) -> None:
    body = api.post("{ __schema { queryType { name } } }", key=None)
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}}}


def test_expired_key_is_refused_and_says_when(two_sellers: Api) -> None:
    record, secret = new_key("old", ("alice",), can_write=False, now=now_ms() - 2 * HOUR_MS,
                             expires=now_ms() - HOUR_MS)
    two_sellers.client.portal.call(two_sellers.store.save_key, record)  # type: ignore[union-attr]
    error = two_sellers.error(GIG % "g-alice", key=secret)
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert "expired on" in error["message"]


def test_last_use_is_recorded_about_once_a_minute(make_api: ApiFactory) -> None:
    api = make_api(wrap=CountingStore)
    key_id, secret = api.make_key("alice")
    before = now_ms()
    for _ in range(3):
        api.data("{ viewer { isAdmin } }", key=secret)
    assert api.store.calls["touch_key"] == 1
    [key] = api.client.portal.call(api.store.keys)  # type: ignore[union-attr]
    assert key.key_id == key_id and key.last_used is not None and key.last_used >= before
