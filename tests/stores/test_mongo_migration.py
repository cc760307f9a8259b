"""A MongoDB database written by the layout before partitions, opened by this store: every
count kept, nothing doubled, and a replayed old batch still a duplicate."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient

from server.counting.batch import Stored, needs, plan_batch
from server.counting.metrics import ContextRow
from server.counting.ownership import Conflict
from server.counting.rules import ContextKey, ImpressionState, RollupKey, invalid_reason
from server.model import DAY_MS, Counts, Event, Surface, Trust
from server.stores import IngestResult, MongoStore, SQLiteStore, Store
from server.stores.mongo import migration

from .store_events import FAR, T0, click, rows, served, view, viewable

Document = dict[str, Any]

# The old layout's builders (server/stores/mongo/pipelines.py before partitions), as they were.
ROLLUP_FIELDS = ("served", "viewable", "clicks", "views", "position_sum", "position_count")
CONTEXT_FIELDS = ("served", "viewable", "clicks", "position_sum", "position_count")


def old_event_document(event: Event, invalid: str | None) -> Document:
    doc: Document = {"_id": event.id, "gig": event.gig, "ts": event.ts, "type": event.type.value}
    if event.seller is not None:
        doc["seller"] = event.seller
    reason = invalid_reason(event, invalid)
    if reason is not None:
        doc["invalid"] = reason
    return doc


def old_impression(key: str, gig: str, state: ImpressionState) -> Document:
    return {"_id": key, "gig": gig, "bucket": state.bucket, "surface": state.surface.value,
            "viewable": state.viewable, "clicked": state.clicked, "position": state.position,
            "surface_known": state.surface_known, "context": state.context}


def old_rollup(key: RollupKey, counts: Counts, slot: int) -> tuple[Document, Document]:
    base = f"{key.gig}|{key.bucket}|{key.surface.value}"
    inc = {name: getattr(counts, name) for name in ROLLUP_FIELDS if getattr(counts, name)}
    return (
        {"_id": base if slot == 0 else f"{base}|{slot}", "gig": key.gig, "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"surface": key.surface.value, "slot": slot}},
    )


def old_context_rollup(key: ContextKey, counts: Counts) -> tuple[Document, Document]:
    inc = {name: getattr(counts, name) for name in CONTEXT_FIELDS if getattr(counts, name)}
    return (
        {"_id": f"{key.gig}|{key.bucket}|{key.surface.value}|{key.context}", "gig": key.gig,
         "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"surface": key.surface.value, "context": key.context}},
    )


def old_claim(conflict: Conflict) -> tuple[Document, Document]:
    return (
        {"_id": f"{conflict.gig}|{conflict.seller}"},
        {"$inc": {"events": conflict.events}, "$min": {"first": conflict.first},
         "$max": {"last": conflict.last},
         "$setOnInsert": {"gig": conflict.gig, "seller": conflict.seller}},
    )


async def old_ingest(db: Any, events: Sequence[Event], slot: int = 0) -> None:
    """Write a batch into an empty old-layout database as the old store did (its decisions
    made by today's pure plan, the same rules)."""
    stored = Stored()
    stored.add_contexts((), needs(events).context_days)
    todo = plan_batch(events, stored)
    if todo.more:  # the claims of gigs the old store kept on `gigs`: none yet
        stored.add_claimants((), todo.more.claimants)
        todo = plan_batch(events, stored)
    await db.events.insert_many([old_event_document(e, r) for e, r in todo.events])
    if todo.impressions:
        await db.impressions.insert_many(
            [old_impression(k, todo.impression_gigs[k], s) for k, s in todo.impressions.items()]
        )
    if todo.page_views:
        await db.page_views.insert_many(
            [{"_id": k, "bucket": b} for k, b in todo.page_views.items()]
        )
    if todo.renders:
        await db.renders.insert_many(
            [{"_id": k, "holder": holder, "ts": ts} for k, holder, ts, _ in todo.renders]
        )
    for gig, (seller, when) in todo.owners.items():
        await db.gigs.update_one({"_id": gig}, {"$set": {"seller": seller, "seller_ts": when}},
                                 upsert=True)
    for gig, sellers in todo.claimants.items():
        await db.gigs.update_one({"_id": gig}, {"$addToSet": {"claimants": {"$each": sellers}}})
    for claim in todo.claims.values():
        await db.gig_claims.update_one(*old_claim(claim), upsert=True)
    for (gig, bucket, reason), n in todo.invalid.items():
        await db.invalid_rollups.update_one(
            {"_id": f"{gig}|{bucket}|{reason}", "gig": gig, "bucket": bucket},
            {"$inc": {"events": n}, "$setOnInsert": {"reason": reason}}, upsert=True,
        )
    if todo.admitted:
        await db.context_days.insert_many([
            {"_id": f"{gig}|{day}|{context}", "gig": gig, "day": day, "context": context}
            for gig, day, context in sorted(todo.admitted)
        ])
    for key, counts in todo.contexts.items():
        await db.context_rollups.update_one(*old_context_rollup(key, counts), upsert=True)
    for rkey, counts in todo.rollups.items():
        await db.rollups.update_one(*old_rollup(rkey, counts, slot), upsert=True)


def old_batch() -> list[Event]:
    return [
        served("i-1", seller="bob", position=2, context="logo", render="n.1", trust=Trust.MOVE),
        viewable("i-1"),
        served("i-2", gig="g-2", seller="eve", surface=Surface.CATEGORY, context="art"),
        view("p-1", seller="mallory", trust=Trust.CLAIM, ts=T0 + 1),
        view("p-1", gig="g-2"),
        served("i-3", invalid="crawler"),
    ]


async def snapshot(store: Store) -> tuple[Any, ...]:
    return (
        await rows(store, ("g-1", "g-2")),
        sorted(await store.context_totals(["g-1", "g-2"], 0, FAR), key=_context_order),
        await store.invalid_totals(["g-1", "g-2"], 0, FAR),
        await store.seller_of(["g-1", "g-2"]),
        await store.gig_claims(10),
    )


def _context_order(row: ContextRow) -> tuple[str, str, str]:
    return row.gig, row.surface.value, row.context


async def test_an_old_layout_database_is_migrated_once_without_losing_or_doubling_a_count(
    mongo_database_url: str, tmp_path: Any
) -> None:
    events = old_batch()
    client: Any = AsyncMongoClient(mongo_database_url)
    db = client.get_default_database("gigmetrics")
    try:
        await old_ingest(db, events)
        # A rollup row another server had written to a second slot, before the migration.
        await db.rollups.update_one(
            *old_rollup(RollupKey("g-1", T0, Surface.SEARCH), Counts(served=1), 3), upsert=True
        )
        await db.events.insert_one(old_event_document(served("i-9", id="ev-slot3"), None))
    finally:
        await client.close()
    reference = SQLiteStore(tmp_path / "reference.db")
    await reference.open()
    await reference.ingest([*events, served("i-9", id="ev-slot3")])

    # Two servers open the old database at once: one migrates, the other waits for it.
    stores = [MongoStore(mongo_database_url), MongoStore(mongo_database_url)]
    await asyncio.gather(*(s.open() for s in stores))
    store = stores[0]
    try:
        assert await snapshot(store) == await snapshot(reference)
        names = set(await store._live().list_collection_names())
        assert not names & set(migration.OLD_RAW)
        assert await store._live().rollups.count_documents({"p": {"$exists": False}}) == 0

        # Replayed old batches are duplicates; the old state decides what is new.
        assert await store.ingest(events) == IngestResult(0, len(events))
        assert await stores[1].ingest([served("i-9", id="ev-slot3")]) == IngestResult(0, 1)
        later = [click("i-1", ts=T0 + 5), view("p-1", ts=T0 + 6), viewable("i-2", gig="g-2"),
                 served("i-4", context="logo", ts=T0 + DAY_MS)]
        assert (await store.ingest(later)).accepted == len(later)
        await reference.ingest(later)
        assert await snapshot(store) == await snapshot(reference)
    finally:
        for opened in stores:
            await opened.close()
        await reference.close()

    again = MongoStore(mongo_database_url)  # the version is recorded: nothing to do
    await again.open()
    try:
        assert await migration.migrate(again._live(), 1.0) is False
        assert (await rows(again))[("g-1", T0, Surface.SEARCH)][0] == 2
    finally:
        await again.close()
