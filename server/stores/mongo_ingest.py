"""MongoDB writes: exact counts without multi-document transactions, and crash recovery.

1. raw events are inserted with `applied: false`; a duplicate `_id` (E11000) is a duplicate;
2. each new event's impression (or page-view) change is one atomic upsert returning the
   document BEFORE it, which tells exactly which transition this call won, whatever other
   servers do at the same time (`mongo_pipelines.impression_update`);
3. the merged rollup delta is one unordered `bulk_write` of `$inc` upserts;
4. the events are marked `applied: true`.

A crash between 1 and 4 leaves `applied: false` events. `recover` re-applies their upserts,
which are idempotent, then recomputes the rollup rows of the (gig, bucket) pairs they touch
from `impressions` and `page_views` and replaces them. The recompute is exact as long as no
other server is half-way through an ingest into the same gig's bucket in those milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import DeleteMany, ReplaceOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ..events import Event, EventType, Rejection
from ..transitions import Delta, apply_page_view, apply_to_impression, impression_key, merge
from . import mongo_pipelines as mp
from .base import IngestResult

RECOVERY_GRACE_MS = 10_000
RECOVERY_BATCH = 1_000

Database = Any  # an AsyncDatabase, or a test double with the same call shapes


async def ingest(
    db: Database, events: Sequence[Event], rejections: Sequence[Rejection]
) -> IngestResult:
    """Insert new events, apply their transitions atomically, then add the rollup delta."""
    if rejections:
        await db.rejections.insert_many(
            [
                {"received": r.received, "index": r.index, "reason": r.reason, "raw": r.raw}
                for r in rejections
            ]
        )
    if not events:
        return IngestResult(0, 0)
    now = now_ms()
    docs = [mp.event_document(e, received=now, applied=e.automated) for e in events]
    duplicates = await insert_events(db, docs)
    new = [e for i, e in enumerate(events) if i not in duplicates]
    counted = [e for e in new if not e.automated]
    if counted:
        delta = await apply_transitions(db, counted)
        await apply_rollups(db, delta)
        await upsert_gigs(db, counted)
        await mark_applied(db, (e.id for e in counted))
    if duplicates:
        await heal(db, [events[i].id for i in duplicates], now)
    return IngestResult(len(new), len(duplicates))


async def recover(db: Database, grace_ms: int | None = None) -> int:
    """Finish ingests stopped by a crash (events unapplied for `grace_ms`); how many."""
    recovered = 0
    cutoff = now_ms() - (RECOVERY_GRACE_MS if grace_ms is None else grace_ms)
    while True:
        cursor = db.events.find(mp.unapplied_events(cutoff)).sort([("received", 1), ("ts", 1)])
        docs = await cursor.limit(RECOVERY_BATCH).to_list(None)
        if not docs:
            return recovered
        events = [mp.event_of(doc) for doc in docs]
        pairs: set[mp.BucketPair] = set()
        for event in events:
            after = await transition(db, event, ReturnDocument.AFTER)
            pairs.add((event.gig, after["bucket"]))
        await recompute(db, pairs)
        await upsert_gigs(db, events)
        await mark_applied(db, (e.id for e in events))
        recovered += len(events)


async def insert_events(db: Database, docs: list[dict[str, Any]]) -> set[int]:
    """Insert all; the indexes of those whose id was already there (or earlier here)."""
    try:
        await db.events.insert_many(docs, ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors):
            raise
        return {e["index"] for e in errors}
    return set()


async def apply_transitions(db: Database, events: list[Event]) -> Delta:
    """Apply every event's transition; what they add to the rollups."""
    # Events about one impression (or page load) go in order; different ones in parallel.
    groups: dict[str, list[Event]] = {}
    for event in events:
        key = mp.page_view_id(event) if event.type is EventType.VIEW else impression_key(event)
        groups.setdefault(key, []).append(event)
    delta: Delta = {}
    for more in await asyncio.gather(*(_apply_in_order(db, g) for g in groups.values())):
        merge(delta, more)
    return delta


async def _apply_in_order(db: Database, events: list[Event]) -> Delta:
    delta: Delta = {}
    for event in events:
        before = await transition(db, event, ReturnDocument.BEFORE)
        if event.type is EventType.VIEW:
            if before is None:
                merge(delta, apply_page_view(event))
        else:
            merge(delta, apply_to_impression(mp.impression_state(before), event)[1])
    return delta


async def transition(db: Database, event: Event, returned: bool) -> Any:
    """The idempotent, atomic upsert of an event's impression or page view."""
    update: dict[str, Any] | list[dict[str, Any]]
    if event.type is EventType.VIEW:
        coll, key, update = "page_views", mp.page_view_id(event), mp.page_view_insert(event)
    else:
        coll, key, update = "impressions", impression_key(event), mp.impression_update(event)
    for attempt in range(3):
        try:
            return await db[coll].find_one_and_update(
                {"_id": key}, update, upsert=True, return_document=returned
            )
        except DuplicateKeyError:  # two first upserts raced; the retry finds the winner
            if attempt == 2:
                raise
    return None  # pragma: no cover


async def apply_rollups(db: Database, delta: Delta) -> None:
    """Add a delta to the rollups: one unordered bulk of `$inc` upserts."""
    ops = [
        UpdateOne({"_id": mp.rollup_id(key)}, mp.rollup_increment(key, counts), upsert=True)
        for key, counts in delta.items()
    ]
    if ops:
        await db.rollups.bulk_write(ops, ordered=False)


async def upsert_gigs(db: Database, events: Iterable[Event]) -> None:
    """Record the gigs seen and their latest sellers."""
    updates = mp.gig_updates(events)
    ops = [UpdateOne({"_id": gig}, stages, upsert=True) for gig, stages in updates]
    if ops:
        await db.gigs.bulk_write(ops, ordered=False)


async def mark_applied(db: Database, ids: Iterable[str]) -> None:
    """The last step: these events are fully counted."""
    await db.events.update_many({"_id": {"$in": list(ids)}}, {"$set": {"applied": True}})


async def heal(db: Database, duplicate_ids: list[str], now: int) -> None:
    """A retry of an event stuck unapplied (its ingest crashed) finishes it now."""
    stuck = {"_id": {"$in": duplicate_ids}, **mp.unapplied_events(now - RECOVERY_GRACE_MS)}
    if await db.events.find_one(stuck, {"_id": 1}) is not None:
        await recover(db)


async def recompute(db: Database, pairs: set[mp.BucketPair]) -> None:
    """Replace the rollup rows of these (gig, bucket) pairs by a count from scratch."""
    if not pairs:
        return
    rows = mp.recomputed_rollups(
        await aggregate(db, "impressions", mp.impression_counts(pairs)),
        await aggregate(db, "impressions", mp.click_counts(pairs)),
        await aggregate(db, "page_views", mp.view_counts(pairs)),
    )
    ops: list[Any] = [
        ReplaceOne({"_id": mp.rollup_id(key)}, mp.rollup_document(key, counts), upsert=True)
        for key, counts in rows.items()
    ]
    for gig, bucket in sorted(pairs):
        kept = [k.surface.value for k in rows if (k.gig, k.bucket) == (gig, bucket)]
        ops.append(DeleteMany({"gig": gig, "bucket": bucket, "surface": {"$nin": kept}}))
    await db.rollups.bulk_write(ops, ordered=False)


async def aggregate(db: Database, collection: str, pipeline: list[dict[str, Any]]) -> list[Any]:
    """Run a pipeline; all its documents."""
    cursor = await db[collection].aggregate(pipeline)
    docs: list[Any] = await cursor.to_list(None)
    return docs


def now_ms() -> int:
    """The server clock in epoch milliseconds."""
    return int(time.time() * 1000)
