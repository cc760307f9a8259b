"""SPEC §7 over HTTP on every store: orders, conversion and revenue; listing experiments;
devices."""

from __future__ import annotations

from typing import Any

from server.edge.signing import SigningKeys

from .api_harness import HOUR_MS, Api, ApiFactory, CountingStore, Events, now_ms

INSIGHT = """query($gig: ID!, $baseline: String) { gigMetrics(gigId: $gig) {
  orders clicks views conversionRate
  revenue { currency amount orders }
  daily { date orders }
  bySurface { surface orders }
  byContext { context orders }
  variants(baseline: $baseline) { variant servedImpressions viewableImpressions clicks ctr
    viewableCtr orders isBaseline ctrChange significant verdict }
  byDevice { device servedImpressions viewableImpressions clicks ctr viewableCtr
    viewabilityRate }
} }"""

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1")
DESKTOP = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/131.0.0.0 Safari/537.36")


def insight(api: Api, gig: str = "g-1", baseline: str | None = None) -> dict[str, Any]:
    return dict(api.data(INSIGHT, gig=gig, baseline=baseline)["gigMetrics"])


def order(events: Events, gig: str, order_id: str, ts: int, **fields: Any) -> dict[str, Any]:
    return {"id": order_id, "type": "order", "gig": gig, "ts": ts, **fields}


def collect_as(api: Api, agent: str, batch: list[dict[str, Any]]) -> dict[str, Any]:
    response = api.client.post("/collect", json={"events": batch},
                                headers={"user-agent": agent})
    assert response.status_code == 200, response.text
    receipt: dict[str, Any] = response.json()
    return receipt


def test_a_gig_without_orders_has_zero_orders_and_no_conversion(api: Api) -> None:
    found = insight(api, "g-none")
    assert (found["orders"], found["conversionRate"], found["revenue"]) == (0, None, [])
    assert found["variants"] == []
    assert [d["device"] for d in found["byDevice"]] == ["DESKTOP", "MOBILE", "TABLET", "OTHER"]
    assert all(d["servedImpressions"] == 0 and d["ctr"] is None for d in found["byDevice"])


def test_a_page_order_then_the_backends_report_of_it_count_once(
    api: Api, events: Events
) -> None:
    t = now_ms() - 2 * HOUR_MS
    shown = {**events.served("g-1", "i1", t), "context": "logo design"}
    collect_as(api, DESKTOP, [shown, events.click("g-1", "i1", t + 1000)])
    page = order(events, "g-1", "ORD-000001", t + 60_000, imp="i1", value=40, currency="USD")
    assert collect_as(api, DESKTOP, [page])["accepted"] == 1
    backend = order(events, "g-1", "ORD-000001", t + 61_000, value=40.0, currency="USD")
    assert api.record([backend]) == {"accepted": 0, "duplicates": 1, "rejected": []}
    api.record([order(events, "g-1", "ORD-000002", t + 70_000, value=9.99, currency="EUR"),
                order(events, "g-1", "ORD-000003", t + 80_000, value=60.5, currency="USD")])
    found = insight(api)
    assert found["orders"] == 3
    assert (found["clicks"], found["views"]) == (1, 0)
    assert found["conversionRate"] == 300.0  # orders / visits x 100: three orders, one visit
    assert found["revenue"] == [
        {"currency": "USD", "amount": 100.5, "orders": 2},
        {"currency": "EUR", "amount": 9.99, "orders": 1},
    ]
    surfaces = {s["surface"]: s["orders"] for s in found["bySurface"]}
    assert surfaces == {"SEARCH": 1, "CATEGORY": 0, "HOMEPAGE": 0, "USER_PAGE": 0, "OTHER": 2}
    assert found["byContext"] == [{"context": "logo design", "orders": 1}]
    assert sum(d["orders"] for d in found["daily"]) == 3


def test_record_events_takes_orders_and_variants_with_their_wire_values(
    api: Api, events: Events
) -> None:
    t = now_ms() - HOUR_MS
    served = {**events.served("g-1", "i1", t), "variant": "thumb-B"}
    bad = order(events, "g-1", "ORD-000009", t, value=5)  # value without currency
    receipt = api.record([served, order(events, "g-1", "ORD-000001", t + 5, imp="i1"), bad])
    assert receipt["accepted"] == 2
    assert [r["index"] for r in receipt["rejected"]] == [2]
    assert "currency" in receipt["rejected"][0]["reason"]
    [variant] = insight(api)["variants"]
    assert (variant["variant"], variant["servedImpressions"], variant["orders"]) == (
        "thumb-B", 1, 1
    )
    assert variant["isBaseline"] and variant["ctrChange"] is None
    assert variant["significant"] is False


def test_variants_are_compared_with_the_baseline_most_served_first(
    api: Api, events: Events
) -> None:
    t = now_ms() - 3 * HOUR_MS
    batch: list[dict[str, Any]] = []
    # A: 2 % CTR over 3,000 impressions; B: 6 % over 2,000: a clear difference.
    for name, shown, clicked in (("A", 3000, 60), ("B", 2000, 120)):
        for n in range(shown):
            imp = f"{name}{n}"
            batch.append({**events.served("g-1", imp, t), "variant": name})
            if n < clicked:
                batch.append(events.click("g-1", imp, t + 1000))
    for start in range(0, len(batch), 100):
        api.record(batch[start : start + 100])
    rows = insight(api)["variants"]
    assert [(r["variant"], r["servedImpressions"], r["clicks"]) for r in rows] == [
        ("A", 3000, 60), ("B", 2000, 120)
    ]
    a, b = rows
    assert a["isBaseline"] and not b["isBaseline"]
    assert a["ctr"] == 2.0 and b["ctr"] == 6.0
    assert abs(b["ctrChange"] - 200.0) < 1e-9
    assert b["significant"] and "B gets more clicks" in b["verdict"]
    assert a["viewableImpressions"] == 60  # a click makes its impression viewable
    # Named baseline: B; A is then fewer clicks, and significant too.
    named = insight(api, baseline="B")["variants"]
    assert [r["isBaseline"] for r in named] == [False, True]
    assert named[0]["significant"] and named[0]["ctrChange"] < 0


def test_by_device_follows_the_served_request(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    collect_as(api, IPHONE, [events.served("g-1", "i1", t), events.served("g-1", "i2", t)])
    collect_as(api, DESKTOP, [events.served("g-1", "i3", t)])
    # The phone's impression is clicked from a desktop: it stays the phone's.
    collect_as(api, DESKTOP, [events.click("g-1", "i1", t + 1000)])
    rows = {d["device"]: d for d in insight(api)["byDevice"]}
    assert (rows["MOBILE"]["servedImpressions"], rows["MOBILE"]["clicks"]) == (2, 1)
    assert rows["MOBILE"]["ctr"] == 50.0 and rows["MOBILE"]["viewabilityRate"] == 50.0
    assert (rows["DESKTOP"]["servedImpressions"], rows["DESKTOP"]["clicks"]) == (1, 0)
    assert rows["TABLET"]["servedImpressions"] == rows["OTHER"]["servedImpressions"] == 0


def test_the_cost_limit_counts_variants_and_devices_as_the_small_lists_they_are(
    api: Api,
) -> None:
    # Per gig: its node, 21 variant rows at most (20 kept a day and the rest), 4 devices.
    ranking = "{a}: topGigs(by: CLICKS, first: 100) {{ edges {{ node {{ variants {{ variant }} " \
        "byDevice {{ device }} }} }} }}"
    three = "{ " + " ".join(ranking.format(a=f"r{n}") for n in range(3)) + " }"
    assert "errors" not in api.post(three)  # about 8,000
    five = "{ " + " ".join(ranking.format(a=f"r{n}") for n in range(5)) + " }"
    assert api.post(five)["errors"][0]["extensions"]["limit"] == "cost"  # about 13,500


def test_the_hero_query_reads_no_split_rollups_and_the_breakdowns_share_one_read(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(wrap=CountingStore)
    t = now_ms() - HOUR_MS
    api.collect([{**events.served("g-1", "i1", t), "variant": "A"}])
    api.store.calls.clear()
    hero = """{ gigMetrics(gigId: "g-1") { servedImpressions orders conversionRate
      daily { date servedImpressions orders } bySurface { surface orders } } }"""
    api.data(hero)
    assert api.store.calls["split_totals"] == 0
    assert api.store.calls["span_totals"] == 1
    api.store.calls.clear()
    api.data("""{ gigMetrics(gigId: "g-1") { revenue { amount } variants { variant }
      byDevice { device } } }""")
    assert api.store.calls["split_totals"] == 1


def test_with_signing_on_a_page_order_is_invalid_and_the_backends_report_still_counts(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(signing_keys=SigningKeys.parse("k1:" + "s" * 32))
    t = now_ms() - HOUR_MS
    page = order(events, "g-1", "ORD-000001", t, value=30, currency="USD")
    assert api.collect([page])["accepted"] == 1
    assert api.collect([page])["duplicates"] == 1  # a retried page report is still one
    assert api.record([page]) == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert api.record([page])["duplicates"] == 1
    found = api.data("""{ gigMetrics(gigId: "g-1") { orders revenue { amount }
      invalidTraffic { reason events } } }""")["gigMetrics"]
    assert found["orders"] == 1 and found["revenue"] == [{"amount": 30.0}]
    assert found["invalidTraffic"] == [{"reason": "unsigned", "events": 1}]
