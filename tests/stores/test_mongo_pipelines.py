"""The pure MongoDB builders, without a database: shapes, round trips, and the shard plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.counting.metrics import RollupRow
from server.counting.ownership import Conflict
from server.counting.rules import ImpressionState, RollupKey
from server.model import Counts, Event, Surface
from server.stores.mongo import INDEXES, pipelines

from .store_events import T0, click, served, view, viewable

KEY = RollupKey("g-1", T0, Surface.SEARCH)
README = Path(__file__).resolve().parents[2] / "README.md"


def carries_shard_key(collection: str, filter_: dict[str, object]) -> bool:
    return all(field in filter_ for field in pipelines.SHARD_KEYS[collection])


def test_rollup_id_is_deterministic_per_gig_bucket_surface_and_slot() -> None:
    assert pipelines.rollup_id(KEY) == f"g-1|{T0}|search"
    assert pipelines.rollup_id(KEY, 3) == f"g-1|{T0}|search|3"
    assert pipelines.rollup_id(RollupKey("g-1", T0, Surface.OTHER)) != pipelines.rollup_id(KEY)


def test_rollup_increment_adds_only_nonzero_counters_and_carries_the_shard_key() -> None:
    filter_, update = pipelines.rollup_increment(KEY, Counts(served=2, clicks=1, viewable=-1), 5)
    assert filter_ == {"_id": f"g-1|{T0}|search|5", "gig": "g-1", "bucket": T0}
    assert update == {
        "$inc": {"served": 2, "viewable": -1, "clicks": 1},
        "$setOnInsert": {"surface": "search", "slot": 5},
    }
    assert carries_shard_key("rollups", filter_)


def test_rollup_increment_refuses_an_empty_inc() -> None:
    with pytest.raises(ValueError, match="skip zero deltas"):
        pipelines.rollup_increment(KEY, Counts())


def test_grouped_rows_add_up_and_take_the_window_start() -> None:
    group = {"_id": {"gig": "g-1", "surface": "search"}, "served": 5, "viewable": 4,
             "clicks": 3, "views": 2, "position_sum": 9, "position_count": 3}
    counts = Counts(served=5, viewable=4, clicks=3, views=2, position_sum=9, position_count=3)
    assert pipelines.grouped_row(group, T0) == RollupRow("g-1", T0, Surface.SEARCH, counts)
    with_bucket = {"_id": {"gig": "g-1", "bucket": T0, "surface": "search"}, "served": 1}
    assert pipelines.grouped_row(with_bucket) == RollupRow(
        "g-1", T0, Surface.SEARCH, Counts(served=1)
    )


def test_rollup_rows_group_slots_per_gig_bucket_surface() -> None:
    match, group = pipelines.rollup_rows(["g-2", "g-1", "g-1"], T0, T0 + 10)
    window = {"$gte": T0, "$lt": T0 + 10}
    assert match == {"$match": {"gig": {"$in": ["g-1", "g-2"]}, "bucket": window}}
    assert group["$group"]["_id"] == {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"}
    assert set(group["$group"]) - {"_id"} == set(pipelines.ROLLUP_FIELDS)


@pytest.mark.parametrize(
    "event",
    [
        served("i-1", seller="s-1", position=3, context="logo design", pv="p-1"),
        viewable("i-1"),
        click("i-1", surface=Surface.CATEGORY),
        view(None),
    ],
)
def test_event_document_keeps_what_raw_events_are_kept_for(event: Event) -> None:
    doc = pipelines.event_document(event)
    assert doc == {
        "_id": event.id, "gig": event.gig, "ts": event.ts, "type": event.type.value,
        **({"seller": event.seller} if event.seller else {}),
    }
    automated = pipelines.event_document(event._replace(automated=True))
    assert automated["invalid"] == "declared_automation"
    assert pipelines.event_document(event, invalid="replayed")["invalid"] == "replayed"


def test_impression_replacement_round_trips_its_state() -> None:
    state = ImpressionState(T0, Surface.CATEGORY, True, False, 4, surface_known=False)
    filter_, doc = pipelines.impression_replacement("i-1\x1fg-1", "g-1", state)
    assert carries_shard_key("impressions", filter_)
    assert doc["_id"] == filter_["_id"] and doc["gig"] == "g-1"
    assert pipelines.impression_state(doc) == state


def test_ownership_builders_carry_their_shard_keys_and_never_write_empty_updates() -> None:
    owner = pipelines.gig_owner("g-1", "alice", T0)
    assert owner == ({"_id": "g-1"}, {"$set": {"seller": "alice", "seller_ts": T0}})
    claim = pipelines.claim_increment(Conflict("g-1", "mallory", T0, T0 + 5, 2))
    assert carries_shard_key("gig_claims", claim[0]) and claim[1]["$inc"] == {"events": 2}
    assert pipelines.conflict({"gig": "g-1", "seller": "mallory", "first": T0, "last": T0 + 5,
                        "events": 2}) == Conflict("g-1", "mallory", T0, T0 + 5, 2)
    invalid = pipelines.invalid_increment(("g-1", T0, "crawler"), 3)
    assert carries_shard_key("invalid_rollups", invalid[0])
    assert invalid[1] == {"$inc": {"events": 3}, "$setOnInsert": {"reason": "crawler"}}
    with pytest.raises(ValueError):
        pipelines.invalid_increment(("g-1", T0, "crawler"), 0)
    assert pipelines.render_document("n.1", "i-1", T0)["_id"] == "n.1"


def test_unique_indexes_are_compatible_with_the_shard_plan() -> None:
    """On a sharded collection a unique index must start with the shard key."""
    for collection, indexes in INDEXES.items():
        for keys, options in indexes:
            if options.get("unique") and collection in pipelines.SHARD_KEYS:
                prefix = tuple(name for name, _ in keys[: len(pipelines.SHARD_KEYS[collection])])
                assert prefix == pipelines.SHARD_KEYS[collection], (collection, keys)


def test_readme_shard_plan_covers_every_collection() -> None:
    text = README.read_text()
    section = text[text.index("### Sharding") :]
    section = section[: section.index("\n## ")]
    for collection, key in pipelines.SHARD_KEYS.items():
        shape = ", ".join(f"{k}: 1" for k in key) if key != ("_id",) else "_id: \"hashed\""
        assert re.search(rf"`{collection}`.*\{{{re.escape(shape)}\}}", section), collection
    for unsharded in ("api_keys", "rejections", "health"):
        assert f"`{unsharded}`" in section, unsharded


def test_span_totals_group_on_the_server_by_the_span_each_bucket_falls_in() -> None:
    edges = [T0, T0 + 4 * 900_000, T0 + 9 * 900_000, T0 + 20 * 900_000]
    match, group = pipelines.span_totals(["g-2", "g-1"], edges)
    assert match == {"$match": {"gig": {"$in": ["g-1", "g-2"]},
                                "bucket": {"$gte": T0, "$lt": edges[-1]}}}
    span = group["$group"]["_id"]["bucket"]
    # Latest edge first: the first case a bucket passes is its span's start.
    assert [b["then"] for b in span["$switch"]["branches"]] == [edges[2], edges[1]]
    assert span["$switch"]["default"] == T0
    assert pipelines.span_start([T0, T0 + 1]) == T0  # one span: no $switch at all


def test_gig_totals_keep_only_click_surfaces_clicks() -> None:
    _, group = pipelines.gig_totals(["g-1"], T0, T0 + 1, {Surface.SEARCH, Surface.CATEGORY})
    assert group["$group"]["_id"] == "$gig"
    assert group["$group"]["clicks"] == {
        "$sum": {"$cond": [{"$in": ["$surface", ["category", "search"]]}, "$clicks", 0]}
    }
    assert pipelines.gig_total({"_id": "g-1", "served": 3, "clicks": 1}) == (
        "g-1", Counts(served=3, clicks=1)
    )
