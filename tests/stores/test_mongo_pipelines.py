"""The pure MongoDB builders, without a database: shapes, round trips, and the shard plan."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from server.counting.batch import Stored, needs, plan_batch
from server.counting.metrics import RollupRow
from server.counting.ownership import Conflict
from server.counting.rules import ImpressionState, RollupKey
from server.counting.splits import SplitKey, Tally
from server.model import Counts, Device, Event, Surface, Trust
from server.stores.mongo import INDEXES
from server.stores.mongo import pipelines as mp

from .store_events import T0, click, served, view, viewable

KEY = RollupKey("g-1", T0, Surface.SEARCH)
README = Path(__file__).resolve().parents[2] / "README.md"


def carries_shard_key(collection: str, filter_: dict[str, object]) -> bool:
    return all(field in filter_ for field in mp.SHARD_KEYS[collection])


def test_rollup_id_is_deterministic_per_gig_bucket_surface_and_slot() -> None:
    assert mp.rollup_id(KEY) == f"g-1|{T0}|search"
    assert mp.rollup_id(KEY, 3) == f"g-1|{T0}|search|3"
    assert mp.rollup_id(RollupKey("g-1", T0, Surface.OTHER)) != mp.rollup_id(KEY)


def test_rollup_increment_adds_only_nonzero_counters_and_carries_the_shard_key() -> None:
    filter_, update = mp.rollup_increment(KEY, Counts(served=2, clicks=1, viewable=-1), 5)
    assert filter_ == {"_id": f"g-1|{T0}|search|5", "p": mp.partition("g-1"), "gig": "g-1",
                       "bucket": T0}
    assert update == {
        "$inc": {"served": 2, "viewable": -1, "clicks": 1},
        "$setOnInsert": {"surface": "search", "slot": 5},
    }
    assert carries_shard_key("rollups", filter_)


def test_rollup_increment_refuses_an_empty_inc() -> None:
    with pytest.raises(ValueError, match="skip zero deltas"):
        mp.rollup_increment(KEY, Counts())


def test_grouped_rows_add_up_and_take_the_window_start() -> None:
    group = {"_id": {"gig": "g-1", "surface": "search"}, "served": 5, "viewable": 4,
             "clicks": 3, "views": 2, "position_sum": 9, "position_count": 3}
    counts = Counts(served=5, viewable=4, clicks=3, views=2, position_sum=9, position_count=3)
    assert mp.grouped_row(group, T0) == RollupRow("g-1", T0, Surface.SEARCH, counts)
    with_bucket = {"_id": {"gig": "g-1", "bucket": T0, "surface": "search"}, "served": 1}
    assert mp.grouped_row(with_bucket) == RollupRow("g-1", T0, Surface.SEARCH, Counts(served=1))


def test_rollup_rows_group_slots_per_gig_bucket_surface() -> None:
    match, group = mp.rollup_rows(["g-2", "g-1", "g-1"], T0, T0 + 10)
    window = {"$gte": T0, "$lt": T0 + 10}
    parts = sorted({mp.partition("g-1"), mp.partition("g-2")})
    assert match == {"$match": {"p": {"$in": parts}, "gig": {"$in": ["g-1", "g-2"]},
                                "bucket": window}}
    assert group["$group"]["_id"] == {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"}
    assert set(group["$group"]) - {"_id"} == set(mp.ROLLUP_FIELDS)


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
    doc = mp.event_document(event)
    assert doc == {
        "_id": mp.state_id(event.gig, "e", event.id), "p": mp.partition(event.gig),
        "gig": event.gig,
        "k": "e", "t": event.ts, "type": event.type.value,
        **({"seller": event.seller} if event.seller else {}),
    }
    automated = mp.event_document(event._replace(automated=True))
    assert automated["invalid"] == "declared_automation"
    assert mp.event_document(event, invalid="replayed")["invalid"] == "replayed"


def test_impression_replacement_round_trips_its_state() -> None:
    state = ImpressionState(T0, Surface.CATEGORY, True, False, 4, surface_known=False)
    filter_, doc = mp.impression_replacement("i-1\x1fg-1", "g-1", state)
    assert carries_shard_key("gig_state", filter_)
    assert doc["_id"] == filter_["_id"] == f"{mp.partition('g-1'):04d}|g-1|i|i-1\x1fg-1"
    assert doc["gig"] == "g-1" and doc["p"] == mp.partition("g-1") and doc["t"] == T0
    assert mp.impression_state(doc) == state
    tested = state._replace(orders=2, variant="B", device=Device.TABLET, awaiting_served=True)
    assert mp.impression_state(mp.impression_replacement("i-1\x1fg-1", "g-1", tested)[1]) == tested


def test_split_increments_carry_the_shard_key_and_free_text_cannot_collide() -> None:
    key = SplitKey("g-1", T0, "variant", "a|b#3")
    filter_, update = mp.split_increment(key, Tally(served=1, orders=2), slot=3)
    assert carries_shard_key("split_rollups", filter_)
    assert filter_["_id"] == f"g-1|{T0}|variant#3|a|b#3"
    assert update["$inc"] == {"served": 1, "orders": 2}
    assert update["$setOnInsert"] == {"kind": "variant", "key": "a|b#3"}
    with pytest.raises(ValueError):
        mp.split_increment(key, Tally())


def test_ownership_builders_carry_their_shard_keys_and_never_write_empty_updates() -> None:
    p = mp.partition("g-1")
    owner = mp.gig_owner("g-1", "alice", T0)
    assert owner == ({"_id": "g-1", "p": p}, {"$set": {"seller": "alice", "seller_ts": T0}})
    assert carries_shard_key("gigs", owner[0])
    state, update = mp.owner_update("g-1", ("alice", T0), ["mallory"])
    assert state == {"_id": f"{p:04d}|g-1|o|"} and carries_shard_key("gig_state", state)
    assert update["$setOnInsert"]["p"] == p
    assert update["$set"] == {"seller": "alice", "seller_ts": T0}
    assert update["$addToSet"] == {"claimants": {"$each": ["mallory"]}}
    assert "$set" not in mp.owner_update("g-1", None, ["eve"])[1]  # the owner stays
    claim = mp.claim_increment(Conflict("g-1", "mallory", T0, T0 + 5, 2), 3)
    assert claim[0] == {"_id": "g-1|mallory|3", "p": p, "gig": "g-1"}
    assert carries_shard_key("gig_claims", claim[0]) and claim[1]["$inc"] == {"events": 2}
    assert mp.conflict({"gig": "g-1", "seller": "mallory", "first": T0, "last": T0 + 5,
                        "events": 2}) == Conflict("g-1", "mallory", T0, T0 + 5, 2)
    invalid = mp.invalid_increment(("g-1", T0, "crawler"), 3)
    assert carries_shard_key("invalid_rollups", invalid[0])
    assert invalid[1] == {"$inc": {"events": 3}, "$setOnInsert": {"reason": "crawler"}}
    with pytest.raises(ValueError):
        mp.invalid_increment(("g-1", T0, "crawler"), 0)
    assert mp.render_document("n.1", "g-1", "i-1", T0)["_id"] == f"{p:04d}|g-1|r|n.1"
    contexts = mp.contexts_addition("g-1", 5, ["logo"])
    assert contexts[0] == {"_id": f"{p:04d}|g-1|c|5"}
    assert carries_shard_key("gig_state", contexts[0])
    assert contexts[1]["$setOnInsert"]["p"] == p


def test_state_ids_of_a_zone_are_one_range_of_the_shard_key() -> None:
    """`gig_state` is range-sharded by `_id`: ordering ids must order their partitions."""
    gigs = [f"gig-{n}" for n in range(300)]
    ordered = sorted(gigs, key=lambda g: mp.state_id(g, "e", "x"))
    assert [mp.partition(g) for g in ordered] == sorted(mp.partition(g) for g in gigs)
    for zone in range(3):
        low, high = mp.zone_range(zone, 3)
        for gig in gigs:
            inside = mp.state_bound(low) <= mp.state_id(gig, "o") < mp.state_bound(high)
            assert inside == (mp.zone_of(mp.partition(gig), 3) == zone)


def test_unique_indexes_are_compatible_with_the_shard_plan() -> None:
    """On a sharded collection a unique index must start with the shard key."""
    for collection, indexes in INDEXES.items():
        for keys, options in indexes:
            if options.get("unique") and collection in mp.SHARD_KEYS:
                prefix = tuple(name for name, _ in keys[: len(mp.SHARD_KEYS[collection])])
                assert prefix == mp.SHARD_KEYS[collection], (collection, keys)


def test_readme_shard_plan_covers_every_collection() -> None:
    text = README.read_text()
    section = text[text.index("### Sharding") :]
    section = section[: section.index("\n## ")]
    for collection, key in mp.SHARD_KEYS.items():
        shape = ", ".join(f"{k}: 1" for k in key)
        if collection in mp.HASHED_SHARD_KEYS:
            shape = '_id: "hashed"'
        assert re.search(rf"`{collection}`.*\{{{re.escape(shape)}\}}", section), collection
    for unsharded in ("api_keys", "rejections", "health"):
        assert f"`{unsharded}`" in section, unsharded


def test_span_totals_group_on_the_server_by_the_span_each_bucket_falls_in() -> None:
    edges = [T0, T0 + 4 * 900_000, T0 + 9 * 900_000, T0 + 20 * 900_000]
    match, group = mp.span_totals(["g-2", "g-1"], edges)
    assert match == {"$match": mp.rollups_filter(["g-1", "g-2"], T0, edges[-1])}
    span = group["$group"]["_id"]["bucket"]
    # Latest edge first: the first case a bucket passes is its span's start.
    assert [b["then"] for b in span["$switch"]["branches"]] == [edges[2], edges[1]]
    assert span["$switch"]["default"] == T0
    assert mp.span_start([T0, T0 + 1]) == T0  # one span: no $switch at all


def test_gig_totals_keep_only_click_surfaces_clicks() -> None:
    _, group = mp.gig_totals(["g-1"], T0, T0 + 1, {Surface.SEARCH, Surface.CATEGORY})
    assert group["$group"]["_id"] == "$gig"
    assert group["$group"]["clicks"] == {
        "$sum": {"$cond": [{"$in": ["$surface", ["category", "search"]]}, "$clicks", 0]}
    }
    assert mp.gig_total({"_id": "g-1", "served": 3, "clicks": 1}) == (
        "g-1", Counts(served=3, clicks=1)
    )


def test_a_plans_writes_carry_shard_keys_and_counters_go_to_the_slot_given() -> None:
    batch = [served("i-1", seller="alice", context="logo", trust=Trust.MOVE),
             click("i-1"), view("p-1", gig="g-2"), served("i-2", invalid="crawler")]
    stored = Stored()
    stored.add_contexts((), needs(batch).context_days)
    ops = mp.batch_writes(plan_batch(batch, stored), slot=5)
    names = [op[0] for op in ops]
    state = [i for i, name in enumerate(names) if name in ("gig_state", "gigs")]
    assert max(state) < min(set(range(len(names))) - set(state))  # the hot counters last
    for collection, kind, first, second in ops:
        if kind == "insert":
            assert first["_id"].startswith(f"{first['p']:04d}|{first['gig']}|")
        else:
            assert carries_shard_key(collection, first) and second
        if collection.endswith("rollups"):
            assert first["_id"].endswith("|5") or "#5|" in first["_id"], first
    kinds = Counter((op[0], op[1]) for op in ops)
    assert kinds[("gig_state", "insert")] == 5  # 4 events, 1 page load
    assert kinds[("gig_state", "replace")] == 1 and kinds[("gigs", "update")] == 2
