"""`recordEvents`: the same ingestion as `POST /collect`, behind a write key."""

from __future__ import annotations

import copy
from typing import Any

from server.edge.events import EVENT_FIELDS

from .api_harness import DAY_MS, HOUR_MS, RECORD, Api, Events, days_back, now_ms


def mixed_batch(events: Events, gig: str, t: int) -> list[dict[str, Any]]:
    """Good events and bad ones, as the snippet (or a buggy client) might send them."""
    batch = [
        events.served(gig, "i1", t, position=3, seller="alice"),
        events.served(gig, "i2", t, surface="category", position=1, seller="alice"),
        events.viewable(gig, "i1", t + 1000),
        events.click(gig, "i2", t + 2000, surface="category"),
        events.view(gig, "p1", t + 3000),
        {**events.served(gig, "i3", t), "surface": "sidebar"},  # unknown surface
        {**events.viewable(gig, "i4", t), "type": "hover"},  # unknown type
        {k: v for k, v in events.click(gig, "i5", t).items() if k != "imp"},  # no impression
        events.served(gig, "i6", t - 8 * DAY_MS),  # older than 7 days
        {**events.view(gig, "p2", t), "id": "short"},  # id under 8 characters
    ]
    return [{**event, "seller": "alice"} for event in batch]


def renamed(batch: list[dict[str, Any]], gig: str, prefix: str) -> list[dict[str, Any]]:
    out = copy.deepcopy(batch)
    for event in out:
        event["gig"] = gig
        if len(event["id"]) >= 8:
            event["id"] = prefix + event["id"]
    return out


def test_record_events_gives_the_same_receipt_and_metrics_as_collect(
    api: Api, events: Events
) -> None:
    batch = mixed_batch(events, "g-collect", now_ms() - HOUR_MS)
    twin = renamed(batch, "g-graphql", "gql-")
    _, writer = api.make_key("alice", write=True)  # 7 days back, as /collect

    from_collect = api.collect(batch)
    from_graphql = api.record(twin, key=writer)

    assert from_graphql == from_collect
    assert from_collect["accepted"] == 5
    assert [r["index"] for r in from_collect["rejected"]] == [5, 6, 7, 8, 9]
    assert "surface" in from_collect["rejected"][0]["reason"]
    collected = api.gig("g-collect")
    recorded = api.gig("g-graphql")
    unnamed = {"gigId": None, "window": None}
    assert {**collected, **unnamed} == {**recorded, **unnamed}
    assert recorded["servedImpressions"] == 2
    assert recorded["clicks"] == 1
    assert recorded["views"] == 1


def test_an_event_sent_to_both_is_counted_once(api: Api, events: Events) -> None:
    batch = [events.served("g-1", "i1", now_ms() - HOUR_MS), events.view("g-1", "p", now_ms())]
    assert api.collect(batch)["accepted"] == 2
    assert api.record(batch) == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert api.record(batch)["duplicates"] == 2
    result = api.gig("g-1")
    assert (result["servedImpressions"], result["views"]) == (1, 1)


def test_sent_at_corrects_client_clock_skew(api: Api, events: Events) -> None:
    # The client's clock is 3 days fast: its ts is "in the future", 1 minute before sentAt.
    fast = now_ms() + 3 * DAY_MS
    receipt = api.record([events.served("g-skew", "i1", fast - 60_000)], sent_at=fast)
    assert receipt["accepted"] == 1
    assert api.gig("g-skew")["servedImpressions"] == 1


def test_admin_backfills_a_20_day_old_event_a_partner_cannot(api: Api, events: Events) -> None:
    _, partner = api.make_key("alice", write=True)
    old = now_ms() - 20 * DAY_MS

    by_partner = api.record([events.served("g-old", "p1", old, seller="alice")], key=partner)
    by_admin = api.record([events.served("g-old", "a1", old, seller="alice")])

    assert by_partner["accepted"] == 0
    assert by_partner["rejected"] == [{"index": 0, "reason": "ts: the event is older than 7 days"}]
    assert by_admin == {"accepted": 1, "duplicates": 0, "rejected": []}
    day = days_back(25).isoformat(), days_back(15).isoformat()
    assert api.gig("g-old", range={"from": day[0], "to": day[1]})["servedImpressions"] == 1


def test_the_admin_cannot_backfill_past_raw_retention(api: Api, events: Events) -> None:
    receipt = api.record([events.served("g-old", "a1", now_ms() - 36 * DAY_MS)])
    assert receipt["rejected"] == [{"index": 0, "reason": "ts: the event is older than 35 days"}]


def test_partner_writes_only_its_sellers_events(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    api.collect([events.served("g-bob", "i0", t, seller="bob")])
    _, partner = api.make_key("alice", write=True)

    receipt = api.record(
        [
            events.served("g-alice", "i1", t, seller="alice"),
            events.served("g-alice", "i2", t),  # no seller
            events.served("g-alice", "i3", t, seller="bob"),  # not its seller
            events.served("g-bob", "i4", t, seller="alice"),  # bob's gig, claimed as alice's
            {**events.served("g-alice", "i5", t), "type": "nope"},  # invalid anyway
        ],
        key=partner,
    )

    # Bob's gig answers as an unknown gig would (accepted): nothing says it exists.
    assert receipt["accepted"] == 2
    reasons = {r["index"]: r["reason"] for r in receipt["rejected"]}
    assert list(reasons) == [1, 2, 4]
    assert reasons[1].startswith("seller: required with this API key")
    assert "'bob' is not one this API key may write" in reasons[2]
    assert reasons[4].startswith("type:")
    # ...but nothing of it is counted for bob; the admin sees why among rejected events.
    assert api.gig("g-bob")["servedImpressions"] == 1
    kept = api.data("{ rejectedEvents(limit: 10) { reason } }")["rejectedEvents"]
    assert any("belongs to a seller this API key may not write" in r["reason"] for r in kept)


def test_another_sellers_gig_and_an_unknown_gig_get_the_same_receipt(
    api: Api, events: Events
) -> None:
    t = now_ms() - HOUR_MS
    api.collect([events.served("g-bob", "i0", t, seller="bob")])
    _, alice = api.make_key("alice", write=True)
    bobs = api.record([events.served("g-bob", "i1", t, seller="alice")], key=alice)
    unknown = api.record([events.served("g-new", "i2", t, seller="alice")], key=alice)
    assert bobs == unknown == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert api.gig("g-bob")["servedImpressions"] == 1
    assert api.gig("g-new", key=alice)["servedImpressions"] == 1


def test_a_read_only_key_may_not_record(api: Api, events: Events) -> None:
    _, reader = api.make_key("alice")
    event = events.served("g-1", "i1", now_ms(), seller="alice")
    error = api.error(RECORD, key=reader, events=[event])
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "write permission" in error["message"]


def test_recording_needs_a_key(api: Api, events: Events) -> None:
    error = api.error(RECORD, key=None, events=[events.view("g-1", "p1", now_ms())])
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_over_100_events_are_refused_naming_the_limit(api: Api, events: Events) -> None:
    batch = [events.view("g-1", f"p{n}", now_ms()) for n in range(101)]
    error = api.error(RECORD, events=batch)
    assert "at most 100 events" in error["message"]
    assert "101" in error["message"]
    assert api.gig("g-1")["views"] == 0


def test_event_input_has_exactly_the_wire_fields(api: Api) -> None:
    query = '{ __type(name: "EventInput") { inputFields { name type { name ofType { name } } } } }'
    fields = api.data(query)["__type"]["inputFields"]
    assert [f["name"] for f in fields] == [
        "id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts", "sig",
        "variant", "value", "currency",
    ]
    assert {f["name"] for f in fields} == EVENT_FIELDS
    types = {f["name"]: f["type"]["name"] or f["type"]["ofType"]["name"] for f in fields}
    assert types == {
        "id": "String", "type": "String", "gig": "String", "seller": "String", "imp": "String",
        "pv": "String", "surface": "String", "context": "String", "position": "Int",
        "ts": "Float", "sig": "String", "variant": "String", "value": "Float",
        "currency": "String",
    }


def test_a_signed_snippet_event_is_valid_here_too(api: Api, events: Events) -> None:
    # One event object is valid in both places (SPEC §3), the snippet's `sig` included.
    signed = {**events.view("g-1", "p1", now_ms()), "sig": "k1.abc.nonce.0.mac"}
    assert api.record([signed])["accepted"] == 1
    assert api.gig("g-1")["views"] == 1


def test_rejected_events_are_kept_for_the_admin(api: Api, events: Events) -> None:
    api.record([{**events.view("g-1", "p1", now_ms()), "type": "hover"}])
    query = "{ rejectedEvents(limit: 5) { index reason raw receivedAt } }"
    rejected = api.data(query)["rejectedEvents"]
    assert rejected[0]["index"] == 0
    assert rejected[0]["reason"].startswith("type:")
    assert '"hover"' in rejected[0]["raw"]
    assert rejected[0]["receivedAt"].endswith("Z")
    _, partner = api.make_key("alice", write=True)
    assert api.error(query, key=partner)["extensions"]["code"] == "FORBIDDEN"
    assert "limit is 0" in api.error("{ rejectedEvents(limit: 0) { index } }")["message"]
