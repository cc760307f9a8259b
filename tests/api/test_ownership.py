"""Who owns a gig (SPEC §4): trusted sources only; an anonymous beacon never moves an owner.
And invalid traffic: kept, never counted, always shown per reason."""

from __future__ import annotations

import json

from server.edge.signing import SigningKeys, sign_listing
from server.edge.traffic import TrafficLimits

from .api_harness import HOUR_MS, Api, ApiFactory, Events, now_ms

GIG = '{ gigMetrics(gigId: "%s") { gigId servedImpressions } }'
INVALID = '{ gigMetrics(gigId: "%s") { servedImpressions invalidTraffic { reason kind events } } }'
SET_OWNER = 'mutation { setGigOwner(gigId: "%s", sellerId: "%s") { gigId sellerId } }'
CLAIMS = "{ gigClaims { gigId sellerId events } }"


def test_a_beacon_naming_alice_does_not_hand_her_bobs_gig(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    api.collect([events.served("g-bob", "i1", t, seller="bob")])
    _, alice = api.make_key("alice")
    _, bob = api.make_key("bob")
    # The hijack of issue #7: one anonymous beacon naming alice, newer than bob's.
    api.collect([events.served("g-bob", "i2", t + 1000, seller="alice")])
    refused = api.post(GIG % "g-bob", key=alice)
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert api.gig("g-bob", key=bob)["servedImpressions"] == 2
    # The admin sees the conflicting claim, and may move the gig.
    assert api.data(CLAIMS)["gigClaims"] == [{"gigId": "g-bob", "sellerId": "alice", "events": 1}]
    assert api.data(SET_OWNER % ("g-bob", "alice"))["setGigOwner"] == {
        "gigId": "g-bob", "sellerId": "alice"}
    assert api.gig("g-bob", key=alice)["servedImpressions"] == 2
    assert api.post(GIG % "g-bob", key=bob)["data"] is None


def test_only_the_admin_sets_owners_and_reads_claims(api: Api) -> None:
    _, partner = api.make_key("alice", write=True)
    for query in (SET_OWNER % ("g-1", "alice"), CLAIMS):
        assert api.error(query, key=partner)["extensions"]["code"] == "FORBIDDEN"


def test_admin_record_events_moves_an_owner_a_scoped_key_cannot(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    api.collect([events.served("g-1", "i1", t, seller="bob")])
    _, alice = api.make_key("alice", write=True)
    api.record([events.served("g-1", "i2", t + 1, seller="alice")], key=alice)
    assert api.gig("g-1")["servedImpressions"] == 1  # answered as accepted, never counted
    api.record([events.served("g-1", "i3", t + 2, seller="alice")])
    assert api.gig("g-1", key=alice)["servedImpressions"] == 2


def test_signed_listings_count_only_valid_fresh_unspent_tiles(
    make_api: ApiFactory, events: Events
) -> None:
    keys = SigningKeys.parse("k1:0123456789abcdef0123")
    api = make_api(signing_keys=keys)
    now = now_ms()
    sig, = sign_listing(keys, "search", "logo", [("g-s", "bob")], now=now - 1000)
    tile = {"seller": "bob", "context": "logo", "position": 1, "sig": sig}
    old, = sign_listing(keys, "search", "logo", [("g-s", "bob")], now=now - 2 * HOUR_MS)
    api.collect([
        {**events.served("g-s", "i1", now - 500), **tile},
        {**events.served("g-s", "i2", now - 400), **tile},  # the same tile, replayed
        {**events.served("g-s", "i3", now - 300), "seller": "bob"},  # unsigned
        {**events.served("g-s", "i4", now - 300), **tile, "sig": sig[:-2] + "xx"},  # forged
        {**events.served("g-s", "i5", now - 300), **tile, "sig": old},  # stale
        {**events.served("g-s", "i6", now - 300), **tile, "seller": "mallory"},  # altered
    ])
    answer = api.data(INVALID % "g-s")["gigMetrics"]
    assert answer["servedImpressions"] == 1
    assert sorted((r["reason"], r["kind"], r["events"]) for r in answer["invalidTraffic"]) == [
        ("bad_signature", "SIVT", 2),
        ("replayed", "SIVT", 1),
        ("stale_signature", "SIVT", 1),
        ("unsigned", "SIVT", 1),
    ]


def test_crawlers_and_declared_automation_are_givt(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    api.collect([events.served("g-a", "i1", t)], automated=True)
    response = api.client.post(
        "/collect", content=json.dumps({"events": [events.served("g-a", "i2", t)]}),
        headers={"content-type": "text/plain", "user-agent": "Googlebot/2.1"},
    )
    assert response.status_code == 200
    answer = api.data(INVALID % "g-a")["gigMetrics"]
    assert answer["servedImpressions"] == 0
    assert sorted((r["reason"], r["kind"], r["events"]) for r in answer["invalidTraffic"]) == [
        ("crawler", "GIVT", 1),
        ("declared_automation", "GIVT", 1),
    ]


def test_beacons_past_a_rate_are_givt_and_keyed_callers_are_not_screened(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(rate_limits=TrafficLimits.parse("ip=2/minute,pv=3/minute"))
    t = now_ms() - HOUR_MS
    # viewables name no page view: they count against the address (here the test client's)
    api.collect([events.viewable("g-r", f"v{n}", t) for n in range(3)])
    # served tiles count against their page view: p1 goes past, p2 does not
    api.collect([events.served("g-r", f"i{n}", t) | {"pv": "p1"} for n in range(4)])
    api.collect([events.served("g-r", f"j{n}", t) | {"pv": "p2"} for n in range(3)])
    # a key holder (a listing backend, one address, many events) is never rate-limited
    api.record([events.viewable("g-r", f"k{n}", t) for n in range(10)])
    answer = api.data(INVALID % "g-r")["gigMetrics"]
    assert answer["servedImpressions"] == 2 + 3 + 3 + 10
    assert answer["invalidTraffic"] == [{"reason": "over_rate", "kind": "GIVT", "events": 2}]
