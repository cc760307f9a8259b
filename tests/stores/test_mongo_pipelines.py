"""The pure MongoDB builders: their shapes without a database, then run on mongomock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import mongomock
import pytest
from pymongo import ReturnDocument

from server.events import Event, Surface
from server.metrics import RollupRow
from server.stores import mongo_pipelines as mp
from server.transitions import Counts, ImpressionState, RollupKey

from .store_events import T0, B, click, served, view, viewable

MONGOMOCK_STAGES = {"$match", "$group", "$project", "$sort", "$facet", "$unwind", "$count"}
KEY = RollupKey("g-1", T0, Surface.SEARCH)


def stages(pipeline: list[dict[str, Any]]) -> Iterator[str]:
    for stage in pipeline:
        (name,) = stage
        yield name
        if name == "$facet":
            for sub in stage[name].values():
                yield from stages(sub)


@pytest.fixture
def db() -> Any:
    return mongomock.MongoClient().db


def test_rollup_id_is_deterministic_per_gig_bucket_surface() -> None:
    assert mp.rollup_id(KEY) == f"g-1|{T0}|search"
    assert mp.rollup_id(RollupKey("g-1", T0, Surface.OTHER)) != mp.rollup_id(KEY)


def test_rollup_increment_adds_only_nonzero_counters() -> None:
    update = mp.rollup_increment(KEY, Counts(served=2, clicks=1))
    assert update == {
        "$inc": {"served": 2, "clicks": 1},
        "$setOnInsert": {"gig": "g-1", "bucket": T0, "surface": "search"},
    }


def test_rollup_document_round_trips_to_a_row() -> None:
    counts = Counts(served=5, viewable=4, clicks=3, views=2, position_sum=9, position_count=3)
    doc = mp.rollup_document(KEY, counts)
    assert doc["_id"] == mp.rollup_id(KEY)
    assert mp.rollup_row(doc) == RollupRow("g-1", T0, Surface.SEARCH, counts)


@pytest.mark.parametrize(
    "event",
    [
        served("i-1", seller="s-1", position=3, context="logo design", pv="p-1"),
        viewable("i-1"),
        click("i-1", surface=Surface.USER_PAGE),
        view(None, automated=True),
    ],
)
def test_event_document_round_trips(event: Event) -> None:
    doc = mp.event_document(event, received=T0 + 5, applied=False)
    assert doc["_id"] == event.id and doc["applied"] is False and doc["received"] == T0 + 5
    assert None not in doc.values()
    assert mp.event_of(doc) == event


def test_pipelines_use_only_stages_mongomock_runs() -> None:
    pairs = {("g-1", T0), ("g-2", T0 + B)}
    for pipeline in (
        mp.impression_counts(pairs),
        mp.click_counts(pairs),
        mp.view_counts(pairs),
        mp.surface_totals(["g-1"], T0, T0 + B),
    ):
        assert set(stages(pipeline)) <= MONGOMOCK_STAGES


def test_match_buckets_lists_each_pair_once_in_order() -> None:
    pairs = [("g-2", T0), ("g-1", T0 + B), ("g-2", T0)]
    assert mp.match_buckets(pairs) == {
        "$or": [{"gig": "g-1", "bucket": T0 + B}, {"gig": "g-2", "bucket": T0}]
    }


def test_page_view_id_falls_back_to_the_event_id() -> None:
    assert mp.page_view_id(view("p-1")) == "p-1\x1fg-1"
    no_pv = view(None)
    assert mp.page_view_id(no_pv) == f"!{no_pv.id}\x1fg-1"


def test_impression_update_keeps_the_first_value_of_everything(db: Any) -> None:
    def apply(event: Event) -> ImpressionState | None:
        before = db.impressions.find_one_and_update(
            {"_id": "k"},
            mp.impression_update(event),
            upsert=True,
            return_document=ReturnDocument.BEFORE,
        )
        return mp.impression_state(before)

    assert apply(viewable("i-1", ts=T0 + B + 5)) is None
    # A viewable names no surface: `other` until an event does.
    unnamed = ImpressionState(T0 + B, Surface.OTHER, True, surface_known=False)
    assert apply(served("i-1", position=4)) == unnamed
    first_click = click("i-1", surface=Surface.HOMEPAGE)
    assert apply(first_click) == ImpressionState(T0 + B, Surface.SEARCH, viewable=True, position=4)
    apply(click("i-1", surface=Surface.CATEGORY, position=9))
    doc = db.impressions.find_one({"_id": "k"})
    assert doc == {
        "_id": "k",
        "gig": "g-1",
        "bucket": T0 + B,
        "surface": "search",
        "surface_known": True,
        "position": 4,
        "viewable": True,
        "clicked": True,
    }


def test_a_named_surface_is_never_changed_by_a_later_event(db: Any) -> None:
    for event in (served("i-1"), served("i-1", surface=Surface.CATEGORY), viewable("i-1")):
        db.impressions.find_one_and_update(
            {"_id": "k"}, mp.impression_update(event), upsert=True
        )
    doc = db.impressions.find_one({"_id": "k"})
    assert (doc["surface"], doc["surface_known"]) == ("search", True)


def test_recount_pipelines_rebuild_rollup_rows(db: Any) -> None:
    db.impressions.insert_many(
        [
            {
                "_id": 1,
                "gig": "g-1",
                "bucket": T0,
                "surface": "search",
                "viewable": True,
                "clicked": True,
                "position": 2,
            },
            {
                "_id": 2,
                "gig": "g-1",
                "bucket": T0,
                "surface": "search",
                "viewable": False,
                "clicked": False,
                "position": None,
            },
            {"_id": 3, "gig": "g-1", "bucket": T0 + B, "surface": "search", "viewable": True},
            {"_id": 4, "gig": "g-2", "bucket": T0, "surface": "category", "viewable": False},
        ]
    )
    db.page_views.insert_many(
        [
            {"_id": "a", "gig": "g-1", "bucket": T0, "surface": "other"},
            {"_id": "b", "gig": "g-1", "bucket": T0, "surface": "homepage"},
            {"_id": "c", "gig": "g-2", "bucket": T0, "surface": "other"},
        ]
    )
    pairs = {("g-1", T0)}
    rows = mp.recomputed_rollups(
        db.impressions.aggregate(mp.impression_counts(pairs)),
        db.impressions.aggregate(mp.click_counts(pairs)),
        db.page_views.aggregate(mp.view_counts(pairs)),
    )
    assert rows == {
        RollupKey("g-1", T0, Surface.SEARCH): Counts(2, 1, 1, 0, 2, 1),
        RollupKey("g-1", T0, Surface.HOMEPAGE): Counts(views=1),
        RollupKey("g-1", T0, Surface.OTHER): Counts(views=1),
    }


def test_surface_totals_sums_each_gig_surface(db: Any) -> None:
    docs = [
        mp.rollup_document(RollupKey("g-1", T0, Surface.SEARCH), Counts(served=2, clicks=1)),
        mp.rollup_document(RollupKey("g-1", T0 + B, Surface.SEARCH), Counts(served=3)),
        mp.rollup_document(RollupKey("g-1", T0 + 2 * B, Surface.SEARCH), Counts(served=50)),
        mp.rollup_document(RollupKey("g-2", T0, Surface.OTHER), Counts(views=4)),
    ]
    db.rollups.insert_many(docs)
    result = [
        mp.surface_total_row(d, T0)
        for d in db.rollups.aggregate(mp.surface_totals(["g-1", "g-2"], T0, T0 + 2 * B))
    ]
    assert result == [
        RollupRow("g-1", T0, Surface.SEARCH, Counts(served=5, clicks=1)),
        RollupRow("g-2", T0, Surface.OTHER, Counts(views=4)),
    ]


def test_gig_updates_keep_the_latest_seller(db: Any) -> None:
    def run(*events: Event) -> None:
        for gig, pipeline in mp.gig_updates(events):
            db.gigs.update_one({"_id": gig}, pipeline, upsert=True)

    run(
        served("i-1", seller="s-1", ts=T0 + 5),
        served("i-2", ts=T0 + 9),
        served("i-3", seller="s-0", ts=T0),
        served("i-4", gig="g-2", ts=T0),
    )
    assert list(db.gigs.find().sort("_id")) == [
        {"_id": "g-1", "seller": "s-1", "seller_ts": T0 + 5},
        {"_id": "g-2", "seller_ts": T0},
    ]
    run(served("i-5", seller="s-9", ts=T0 + 1))  # older than s-1: ignored
    run(served("i-6", seller="s-2", gig="g-2", ts=T0 - 5))  # g-2 had none: taken
    assert db.gigs.find_one({"_id": "g-1"})["seller"] == "s-1"
    assert db.gigs.find_one({"_id": "g-2"}) == {"_id": "g-2", "seller": "s-2", "seller_ts": T0 - 5}
    run(served("i-7", seller="s-3", ts=T0 + 6), served("i-8", ts=T0 + 99))
    assert db.gigs.find_one({"_id": "g-1"}) == {"_id": "g-1", "seller": "s-3", "seller_ts": T0 + 6}


def test_unapplied_events_filter_skips_young_and_automated(db: Any) -> None:
    old, young, bot, done = (
        served("i-1"),
        served("i-2"),
        served("i-3", automated=True),
        served("i-4"),
    )
    db.events.insert_many(
        [
            mp.event_document(old, received=T0, applied=False),
            mp.event_document(young, received=T0 + 60_000, applied=False),
            mp.event_document(bot, received=T0, applied=False),
            mp.event_document(done, received=T0, applied=True),
        ]
    )
    found = [d["_id"] for d in db.events.find(mp.unapplied_events(T0 + 10_000))]
    assert found == [old.id]
