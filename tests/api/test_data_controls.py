"""Data controls: the admin deletes everything of one gig or one seller, and it is gone from
every query; partner keys may not."""

from __future__ import annotations

from .api_harness import Api, Events, now_ms

DELETE_GIG = """
mutation($g: ID!) { deleteGigData(gigId: $g) {
  gigs events impressions pageViews rollups contextRollups contextDays rejections
  splitRollups variantDays } }
"""
DELETE_SELLER = """
mutation($s: ID!) { deleteSellerData(sellerId: $s) { gigs events rollups rejections } }
"""
LISTS = """
query($s: ID!) {
  sellers
  sellerGigs(sellerId: $s) { edges { node { gigId } } }
  topGigs(by: SERVED_IMPRESSIONS) { edges { node { gigId servedImpressions } } }
  sellerMetrics(sellerId: $s) { servedImpressions }
}
"""


def traffic(api: Api, events: Events, gig: str, seller: str) -> None:
    ts = now_ms() - 60_000
    receipt = api.record([
        events.served(gig, f"{gig}-i1", ts, seller=seller, position=1),
        events.served(gig, f"{gig}-i2", ts, seller=seller),
        events.viewable(gig, f"{gig}-i1", ts + 1_000),
        events.click(gig, f"{gig}-i1", ts + 2_000),
        events.view(gig, f"{gig}-p1", ts + 3_000),
    ])
    assert receipt["accepted"] == 5
    api.collect([{"id": "bad-event-1", "type": "served", "gig": gig}])  # rejected: no ts


def gig_ids(connection: dict[str, object]) -> list[str]:
    edges = connection["edges"]
    assert isinstance(edges, list)
    return [edge["node"]["gigId"] for edge in edges]


def test_deleted_gig_is_gone_from_every_query(api: Api, events: Events) -> None:
    traffic(api, events, "g-gone", "s-1")
    traffic(api, events, "g-kept", "s-1")

    deleted = api.data(DELETE_GIG, g="g-gone")["deleteGigData"]

    assert deleted["gigs"] == 1
    assert deleted["events"] == 5
    assert (deleted["impressions"], deleted["pageViews"], deleted["rejections"]) == (2, 1, 1)
    assert deleted["rollups"] >= 2
    assert deleted["splitRollups"] >= 1  # the impressions' device row
    gone = api.gig("g-gone")
    assert (gone["servedImpressions"], gone["clicks"], gone["views"], gone["ctr"]) == (
        0, 0, 0, None,
    )
    lists = api.data(LISTS, s="s-1")
    assert lists["sellers"] == ["s-1"]
    assert gig_ids(lists["sellerGigs"]) == ["g-kept"]
    assert gig_ids(lists["topGigs"]) == ["g-kept"]
    assert lists["sellerMetrics"]["servedImpressions"] == 2
    assert api.gig("g-kept")["servedImpressions"] == 2
    # Idempotent.
    again = api.data(DELETE_GIG, g="g-gone")["deleteGigData"]
    assert set(again.values()) == {0}


def test_deleted_seller_leaves_no_gig_and_no_seller(api: Api, events: Events) -> None:
    traffic(api, events, "g-1", "s-gone")
    traffic(api, events, "g-2", "s-gone")
    traffic(api, events, "g-3", "s-kept")

    deleted = api.data(DELETE_SELLER, s="s-gone")["deleteSellerData"]

    assert (deleted["gigs"], deleted["events"], deleted["rejections"]) == (2, 10, 2)
    lists = api.data(LISTS, s="s-gone")
    assert lists["sellers"] == ["s-kept"]
    assert gig_ids(lists["sellerGigs"]) == []
    assert gig_ids(lists["topGigs"]) == ["g-3"]
    assert api.gig("g-1")["servedImpressions"] == 0


def test_events_arriving_after_a_deletion_count_again_as_new_data(
    api: Api, events: Events
) -> None:
    ts = now_ms() - 60_000
    batch = [events.served("g-1", "i-1", ts, seller="s-1")]
    api.record(batch)
    api.data(DELETE_GIG, g="g-1")
    assert api.record(batch)["accepted"] == 1  # the same event id: new again
    assert api.gig("g-1")["servedImpressions"] == 1


def test_only_the_admin_key_deletes(api: Api, events: Events) -> None:
    traffic(api, events, "g-1", "s-1")
    _, secret = api.make_key("s-1", write=True)
    for query, variables in ((DELETE_GIG, {"g": "g-1"}), (DELETE_SELLER, {"s": "s-1"})):
        error = api.error(query, secret, **variables)
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert "admin key" in error["message"]
        assert api.error(query, None, **variables)["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.gig("g-1")["servedImpressions"] == 2
