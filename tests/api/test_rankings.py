"""`topGigs` at scale: every gig exactly once across pages, in the documented order (value,
nulls last, then clicks, then gig id), ties included, and fresh after new events."""

from __future__ import annotations

from typing import Any

import pytest

from .api_harness import HOUR_MS, Api, Events, now_ms

TOP = """
query($by: GigOrder!, $seller: ID, $first: Int!, $after: String) {
  topGigs(by: $by, sellerId: $seller, first: $first, after: $after) {
    totalCount
    edges { node { gigId servedImpressions viewableImpressions clicks views ctr
                   viewableCtr viewabilityRate averagePosition } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
GIGS = 130


def seed(api: Api, events: Events) -> None:
    """Many ties: served 1-4, clicks 0-2, positions 1-3 repeat; five gigs have only views."""
    t = now_ms() - 3 * HOUR_MS
    batch: list[dict[str, Any]] = []
    for n in range(GIGS):
        gig = f"r-{n:03d}"
        if n % 26 == 25:
            batch.append(events.view(gig, f"pv{n}", t))
            continue
        served = n % 4 + 1
        for k in range(served):
            imp = f"{gig}-i{k}"
            batch.append(events.served(gig, imp, t, position=n % 3 + 1, seller="big"))
            if k < n % 3:
                batch.append(events.click(gig, imp, t + 1000))
            elif k < (n // 4) % 3:
                batch.append(events.viewable(gig, imp, t + 500))
    for start in range(0, len(batch), 100):
        assert api.collect(batch[start : start + 100])["rejected"] == []


def walk(api: Api, by: str, first: int, seller: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        page = api.data(TOP, by=by, seller=seller, first=first, after=after)["topGigs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def expected_key(by: str, node: dict[str, Any]) -> tuple[Any, ...]:
    field = {"CTR": "ctr", "VIEWABLE_CTR": "viewableCtr", "VIEWABILITY_RATE": "viewabilityRate",
             "AVERAGE_POSITION": "averagePosition", "CLICKS": "clicks",
             "SERVED_IMPRESSIONS": "servedImpressions"}[by]
    value = node[field]
    if by == "AVERAGE_POSITION":
        return (value is None, value or 0.0, -node["clicks"], node["gigId"])
    if by in ("CTR", "VIEWABLE_CTR", "VIEWABILITY_RATE"):
        return (value is None, -(value or 0.0), -node["clicks"], node["gigId"])
    return (-value, -node["clicks"], node["gigId"])


@pytest.mark.parametrize(
    "by", ["CTR", "VIEWABLE_CTR", "VIEWABILITY_RATE", "AVERAGE_POSITION", "CLICKS"]
)
def test_pages_hold_every_gig_once_in_order(api: Api, events: Events, by: str) -> None:
    seed(api, events)
    nodes = walk(api, by, first=9)
    assert len(nodes) == GIGS and len({n["gigId"] for n in nodes}) == GIGS
    assert nodes == sorted(nodes, key=lambda n: expected_key(by, n))
    # The seller's list: the gigs with views only have no owner, so they are not in it.
    mine = walk(api, by, first=50, seller="big")
    assert [n["gigId"] for n in mine] == [n["gigId"] for n in nodes if n["servedImpressions"]]


def test_a_ranking_follows_new_events(api: Api, events: Events) -> None:
    seed(api, events)
    before = walk(api, "CLICKS", first=100)
    last = before[-1]["gigId"]
    t = now_ms() - HOUR_MS
    api.collect([events.served(last, f"new{k}", t) for k in range(5)]
                + [events.click(last, f"new{k}", t + 1000) for k in range(5)])
    after = walk(api, "CLICKS", first=100)
    assert after[0]["gigId"] == last and after[0]["clicks"] == before[-1]["clicks"] + 5
    assert sorted(n["gigId"] for n in after) == sorted(n["gigId"] for n in before)
