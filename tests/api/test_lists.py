"""`sellerGigs` and `topGigs`: cursor pages, rankings, and store reads batched per page."""

from __future__ import annotations

from typing import Any

import pytest

from .api_harness import ADMIN_KEY, HOUR_MS, Api, ApiFactory, CountingStore, Events, now_ms

PAGE = """
query($seller: ID!, $first: Int!, $after: String) {
  sellerGigs(sellerId: $seller, first: $first, after: $after) {
    totalCount
    edges { cursor node { gigId servedImpressions clicks } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
TOP = """
query($by: GigOrder!, $seller: ID, $first: Int!, $after: String) {
  topGigs(by: $by, sellerId: $seller, first: $first, after: $after) {
    totalCount
    edges { cursor node { gigId servedImpressions viewableImpressions clicks views ctr } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def seed_seller(api: Api, events: Events, seller: str, gigs: int) -> list[str]:
    """`gigs` gigs of `seller`; gig n has n+1 impressions (so totals differ)."""
    t = now_ms() - HOUR_MS
    names = [f"{seller}-gig-{n:02d}" for n in range(gigs)]
    batch = [
        events.served(gig, f"i{k}", t, seller=seller)
        for n, gig in enumerate(names)
        for k in range(n % 3 + 1)
    ]
    for start in range(0, len(batch), 100):
        assert api.collect(batch[start:start + 100])["rejected"] == []
    return names


def test_45_gigs_in_pages_of_20_with_cursors(api: Api, events: Events) -> None:
    names = seed_seller(api, events, "alice", 45)
    seed_seller(api, events, "bob", 3)

    seen: list[str] = []
    after = None
    pages = []
    while True:
        page = api.data(PAGE, seller="alice", first=20, after=after)["sellerGigs"]
        pages.append(page)
        seen += [e["node"]["gigId"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert [len(p["edges"]) for p in pages] == [20, 20, 5]
    assert seen == sorted(names)
    assert {p["totalCount"] for p in pages} == {45}
    assert [p["pageInfo"]["hasPreviousPage"] for p in pages] == [False, True, True]
    assert pages[0]["edges"][-1]["cursor"] == pages[0]["pageInfo"]["endCursor"]
    assert pages[1]["edges"][0]["cursor"] == pages[1]["pageInfo"]["startCursor"]
    assert pages[0]["edges"][0]["node"]["servedImpressions"] == 1
    assert "alice" not in pages[0]["pageInfo"]["endCursor"]  # opaque


def test_a_new_gig_does_not_shift_the_next_page(api: Api, events: Events) -> None:
    seed_seller(api, events, "alice", 5)
    first = api.data(PAGE, seller="alice", first=2)["sellerGigs"]
    api.collect([events.served("alice-gig-00a", "i1", now_ms() - HOUR_MS, seller="alice")])
    after = first["pageInfo"]["endCursor"]
    second = api.data(PAGE, seller="alice", first=2, after=after)["sellerGigs"]
    assert [e["node"]["gigId"] for e in second["edges"]] == ["alice-gig-02", "alice-gig-03"]


def test_a_seller_without_gigs_is_an_empty_page(api: Api) -> None:
    page = api.data(PAGE, seller="nobody", first=20)["sellerGigs"]
    assert page == {
        "totalCount": 0,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
                     "endCursor": None},
    }


def test_first_above_100_is_refused(api: Api) -> None:
    error = api.error(PAGE, seller="alice", first=101)
    assert "first is 101" in error["message"]
    assert "at most 100" in error["message"]
    assert api.error(PAGE, seller="alice", first=-1)["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("cursor", ["nonsense!", "bm9wZQ", "WyJ0OkNUUjoqIixbMV1d"])
def test_a_foreign_cursor_is_refused(api: Api, events: Events, cursor: str) -> None:
    seed_seller(api, events, "alice", 3)
    error = api.error(PAGE, seller="alice", first=2, after=cursor)
    assert "pageInfo.endCursor" in error["message"]


def test_a_cursor_of_another_list_is_refused(api: Api, events: Events) -> None:
    seed_seller(api, events, "alice", 3)
    top = api.data(TOP, by="CLICKS", first=1)["topGigs"]
    error = api.error(PAGE, seller="alice", first=2, after=top["pageInfo"]["endCursor"])
    assert "another list" in error["message"]


def ranking_data(api: Api, events: Events) -> None:
    """g-a: 4 served 1 click (25 %); g-b: 2 served 1 click (50 %); g-c: 4 served 2 clicks
    (50 %); g-d: views only (CTR null); g-e: 1 served, 0 clicks (0 %)."""
    t = now_ms() - HOUR_MS
    batch: list[dict[str, Any]] = []
    for gig, served, clicks, views in [
        ("g-a", 4, 1, 0), ("g-b", 2, 1, 1), ("g-c", 4, 2, 0), ("g-d", 0, 0, 3), ("g-e", 1, 0, 0)
    ]:
        batch += [events.served(gig, f"i{n}", t, seller="s1") for n in range(served)]
        batch += [events.click(gig, f"i{n}", t + 1) for n in range(clicks)]
        batch += [{**events.view(gig, f"p{n}", t), "seller": "s1"} for n in range(views)]
    batch.append(events.served("g-other", "i0", t, seller="s2"))
    api.collect(batch)


def order(api: Api, by: str, key: str = ADMIN_KEY, seller: str | None = None) -> list[str]:
    data = api.data(TOP, key=key, by=by, first=100, seller=seller)
    return [e["node"]["gigId"] for e in data["topGigs"]["edges"]]


def test_top_gigs_orders(api: Api, events: Events) -> None:
    ranking_data(api, events)
    # CTR: 50 % (g-c has more clicks than g-b), 25 %, 0 %, then the gig without impressions.
    assert order(api, "CTR", seller="s1") == ["g-c", "g-b", "g-a", "g-e", "g-d"]
    assert order(api, "CLICKS", seller="s1") == ["g-c", "g-a", "g-b", "g-d", "g-e"]
    assert order(api, "SERVED_IMPRESSIONS", seller="s1") == ["g-c", "g-a", "g-b", "g-e", "g-d"]
    assert order(api, "VIEWABLE_IMPRESSIONS", seller="s1") == ["g-c", "g-a", "g-b", "g-d", "g-e"]
    assert order(api, "VIEWS", seller="s1") == ["g-d", "g-b", "g-c", "g-a", "g-e"]
    assert order(api, "CLICKS") == ["g-c", "g-a", "g-b", "g-d", "g-e", "g-other"]  # admin: all


def test_top_gigs_pages_keep_the_order(api: Api, events: Events) -> None:
    ranking_data(api, events)
    first = api.data(TOP, by="CTR", first=2)["topGigs"]
    rest = api.data(TOP, by="CTR", first=10, after=first["pageInfo"]["endCursor"])["topGigs"]
    ids = [e["node"]["gigId"] for e in first["edges"] + rest["edges"]]
    assert ids == ["g-c", "g-b", "g-a", "g-e", "g-other", "g-d"]
    assert first["totalCount"] == rest["totalCount"] == 6
    assert rest["edges"][-1]["node"]["ctr"] is None


def test_a_partner_ranks_only_its_sellers(api: Api, events: Events) -> None:
    ranking_data(api, events)
    _, s2 = api.make_key("s2")
    assert order(api, "CLICKS", key=s2) == ["g-other"]
    error = api.error(TOP, key=s2, by="CLICKS", first=5, seller="s1")
    assert error["extensions"]["code"] == "FORBIDDEN"


def test_a_page_of_20_gigs_reads_the_store_once_per_kind(
    make_api: ApiFactory, events: Events
) -> None:
    api = make_api(wrap=CountingStore)
    seed_seller(api, events, "alice", 25)
    query = """
    query($seller: ID!) {
      sellerGigs(sellerId: $seller, first: 20) {
        edges { node { gigId clicks daily { date servedImpressions } bySurface { surface ctr } } }
      }
      topGigs(by: CTR, sellerId: $seller, first: 20) {
        edges { node { gigId daily { servedImpressions } bySurface { clicks } } }
      }
    }
    """
    store = api.store
    store.calls.clear()

    data = api.data(query, seller="alice")

    edges = data["sellerGigs"]["edges"]
    assert len(edges) == 20 and len(data["topGigs"]["edges"]) == 20
    assert all(len(e["node"]["daily"]) == 31 and len(e["node"]["bySurface"]) == 5 for e in edges)
    assert sum(d["servedImpressions"] for d in edges[1]["node"]["daily"]) == 2
    assert store.calls["span_totals"] == 1  # both lists' pages, one read (same window)
    assert store.calls["surface_totals"] == 2  # one per list
    assert store.calls["gigs_of_sellers"] == 2
    assert store.calls["key_by_hash"] == 0  # the admin key is not a stored key
    assert len(store.args["span_totals"][0][0]) == 20 + 20 - len(
        {e["node"]["gigId"] for e in edges} & {e["node"]["gigId"] for e in data["topGigs"]["edges"]}
    )
