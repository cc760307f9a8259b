"""What the dashboard asks: byContext, previousPeriod, sellerMetrics, sellers, more orders."""

from __future__ import annotations

from typing import Any

from .api_harness import DAY_MS, HOUR_MS, Api, ApiFactory, CountingStore, Events, now_ms
from .test_lists import order, ranking_data

CONTEXTS = """
query($gig: ID!, $first: Int, $surface: Surface) {
  gigMetrics(gigId: $gig) {
    byContext(first: $first, surface: $surface) {
      context isOther surface servedImpressions viewableImpressions clicks ctr viewableCtr
      viewabilityRate averagePosition
    }
  }
}
"""
PREVIOUS = """
query($gig: ID!, $range: DateRangeInput) {
  gigMetrics(gigId: $gig, range: $range) {
    servedImpressions window { start end }
    previousPeriod { servedImpressions clicks window { start end days }
                     previousPeriod { servedImpressions } }
  }
}
"""
SELLER = """
query($seller: ID!) {
  sellerMetrics(sellerId: $seller) {
    sellerId gigCount servedImpressions clicks views ctr averagePosition
    daily { date servedImpressions clicks }
    bySurface { surface servedImpressions }
    byContext { context servedImpressions }
    previousPeriod { servedImpressions clicks }
  }
}
"""


def search_traffic(api: Api, events: Events) -> None:
    t = now_ms() - HOUR_MS
    batch: list[dict[str, Any]] = []
    for n in range(4):
        batch.append({**events.served("g-1", f"a{n}", t, position=n + 1, seller="alice"),
                      "context": "logo design"})
    batch.append({**events.served("g-1", "b0", t, surface="category", seller="alice"),
                  "context": "logo-design"})
    batch.append(events.served("g-1", "c0", t, surface="homepage", seller="alice"))
    batch += [events.click("g-1", "a0", t + 1), events.viewable("g-1", "a1", t + 1)]
    batch.append({**events.served("g-2", "d0", t, seller="alice"), "context": "logo design"})
    batch.append({**events.served("g-9", "e0", t, seller="bob"), "context": "website"})
    api.collect(batch)


def test_by_context_lists_the_searches_and_categories_that_showed_a_gig(
    api: Api, events: Events
) -> None:
    search_traffic(api, events)
    found = api.data(CONTEXTS, gig="g-1")["gigMetrics"]["byContext"]
    assert found == [
        {"context": "logo design", "isOther": False, "surface": "SEARCH",
         "servedImpressions": 4, "viewableImpressions": 2, "clicks": 1, "ctr": 25.0,
         "viewableCtr": 50.0, "viewabilityRate": 50.0, "averagePosition": 2.5},
        {"context": "logo-design", "isOther": False, "surface": "CATEGORY",
         "servedImpressions": 1, "viewableImpressions": 0, "clicks": 0, "ctr": 0.0,
         "viewableCtr": None, "viewabilityRate": 0.0, "averagePosition": None},
    ]
    only = api.data(CONTEXTS, gig="g-1", first=1, surface="CATEGORY")["gigMetrics"]["byContext"]
    assert [c["context"] for c in only] == ["logo-design"]
    error = api.error(CONTEXTS, gig="g-1", first=0)
    assert "1 to 100" in error["message"]


def test_by_context_of_a_page_of_gigs_reads_the_context_rollups_once(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(wrap=CountingStore)
    search_traffic(api, events)
    query = """{ sellerGigs(sellerId: "alice", first: 10) { edges { node {
        gigId byContext(first: 3) { context servedImpressions } } } } }"""
    edges = api.data(query)["sellerGigs"]["edges"]
    assert [len(e["node"]["byContext"]) for e in edges] == [2, 1]
    assert api.store.calls["context_totals"] == 1


def test_previous_period_is_the_window_of_equal_length_before(api: Api, events: Events) -> None:
    now = now_ms()
    api.record([events.served("g-1", "old", now - 33 * DAY_MS),
                events.served("g-1", "new", now - HOUR_MS)])
    found = api.data(PREVIOUS, gig="g-1")["gigMetrics"]
    previous = found["previousPeriod"]
    assert found["servedImpressions"] == 1 and previous["servedImpressions"] == 1
    assert previous["window"]["end"] == found["window"]["start"]
    assert previous["previousPeriod"]["servedImpressions"] == 0


def test_there_is_no_previous_period_past_retention(api: Api) -> None:
    from datetime import date, timedelta

    today = date.today()
    first = (today - timedelta(days=300)).isoformat()
    found = api.data(PREVIOUS, gig="g-1", range={"from": first, "to": today.isoformat()})
    assert found["gigMetrics"]["previousPeriod"] is None


def test_seller_metrics_sum_the_sellers_gigs(api: Api, events: Events) -> None:
    search_traffic(api, events)
    found = api.data(SELLER, seller="alice")["sellerMetrics"]
    assert found["gigCount"] == 2
    assert (found["servedImpressions"], found["clicks"]) == (7, 1)
    assert sum(d["servedImpressions"] for d in found["daily"]) == 7
    assert len(found["daily"]) == 31
    assert found["byContext"] == [
        {"context": "logo design", "servedImpressions": 5},
        {"context": "logo-design", "servedImpressions": 1},
    ]
    assert found["previousPeriod"] == {"servedImpressions": 0, "clicks": 0}


def test_a_partner_lists_and_reads_only_its_sellers(api: Api, events: Events) -> None:
    search_traffic(api, events)
    _, bob = api.make_key("bob")
    assert api.data("{ sellers }")["sellers"] == ["alice", "bob"]
    assert api.data("{ sellers }", key=bob)["sellers"] == ["bob"]
    assert api.data(SELLER, key=bob, seller="bob")["sellerMetrics"]["servedImpressions"] == 1
    assert api.error(SELLER, key=bob, seller="alice")["extensions"]["code"] == "FORBIDDEN"


def test_gigs_rank_by_every_metric(api: Api, events: Events) -> None:
    ranking_data(api, events)
    # Every clicked impression is viewable: 100 % for three, ties by clicks then id.
    assert order(api, "VIEWABLE_CTR", seller="s1") == ["g-c", "g-a", "g-b", "g-d", "g-e"]
    assert order(api, "VIEWABILITY_RATE", seller="s1") == ["g-c", "g-b", "g-a", "g-e", "g-d"]
    assert order(api, "AVERAGE_POSITION", seller="s1") == ["g-c", "g-a", "g-b", "g-d", "g-e"]
