"""Bring a database written by the layout before partitions (no `p`; raw state in `events`,
`impressions`, `page_views`, `renders`, `context_days`; claimants on `gigs`) up to this one.

Run by `MongoStore.open`, once per database: the `migrations` collection's `layout` document
records the version reached. Several servers may open at once: one takes the `lock`
document (an insert: one winner), the others wait for the version to be reached. Every step
is idempotent (documents copied under deterministic ids, duplicates ignored; sets added to;
`p` set only where it is missing) and the old collections are dropped only after their copy,
so a migration killed midway is simply run again by the next open (the lock expires).
Counts are neither lost nor doubled: counter documents keep their ids and values (only `p`
is added), and each event id is copied under its gig, so a replayed old batch is a
duplicate. Stop servers of the old layout before the first server of this one starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

from ...errors import StoreUnavailable
from ...model import partition
from . import pipelines as mp

LAYOUT = 2
LOCK_S = 600.0  # a migration holding the lock longer is taken to have died
CHUNK = 1000
OLD_RAW = ("events", "impressions", "page_views", "renders", "context_days")
COUNTERS = ("rollups", "context_rollups", "invalid_rollups", "gig_claims")
DUPLICATE_KEY = 11000

Database = Any  # an AsyncDatabase


async def migrate(db: Database, wait_s: float) -> bool:
    """Migrate the database if it needs it (or wait up to `wait_s` for another server that
    does); True if this call migrated."""
    if await _layout(db) >= LAYOUT:
        return False
    if not await _has_old_data(db):
        await _reached(db)
        return False
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait_s
    while not await _lock(db, token):
        if await _layout(db) >= LAYOUT:
            return False
        if time.monotonic() >= deadline:
            raise StoreUnavailable(
                "another server is migrating this database to the partitioned layout: "
                "start this one again when it is done."
            )
        await asyncio.sleep(0.2)
    try:
        if await _layout(db) >= LAYOUT:  # done by a server that held the lock before us
            return False
        await _copy_raw(db)
        await _copy_owners(db)
        await _partition_counters(db)
        for name in OLD_RAW:
            await db.drop_collection(name)
        await _reached(db)
        return True
    finally:
        await db.migrations.delete_one({"_id": "lock", "owner": token})


async def _layout(db: Database) -> int:
    doc = await db.migrations.find_one({"_id": "layout"})
    return int(doc.get("version", 0)) if doc else 0


async def _reached(db: Database) -> None:
    await db.migrations.update_one(
        {"_id": "layout"}, {"$max": {"version": LAYOUT}}, upsert=True
    )


async def _has_old_data(db: Database) -> bool:
    names = set(await db.list_collection_names())
    if names & set(OLD_RAW):
        return True
    for name in (*COUNTERS, "gigs"):
        if name in names and await db[name].find_one({"p": {"$exists": False}}, {"_id": 1}):
            return True
    return False


async def _lock(db: Database, token: str) -> bool:
    """Take the migration lock (or one left by a migration that died)."""
    now = time.time()
    try:
        await db.migrations.insert_one({"_id": "lock", "owner": token, "until": now + LOCK_S})
        return True
    except DuplicateKeyError:
        taken = await db.migrations.update_one(
            {"_id": "lock", "until": {"$lt": now}},
            {"$set": {"owner": token, "until": now + LOCK_S}},
        )
        return bool(taken.modified_count)


async def _docs(db: Database, name: str) -> AsyncIterator[list[Mapping[str, Any]]]:
    cursor = db[name].find({}).sort("_id", 1)
    chunk: list[Mapping[str, Any]] = []
    async for doc in cursor:
        chunk.append(doc)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _insert_new(db: Database, docs: list[dict[str, Any]]) -> None:
    """Insert, leaving documents copied by an earlier, interrupted run as they are."""
    if not docs:
        return
    try:
        await db.gig_state.bulk_write([InsertOne(d) for d in docs], ordered=False)
    except BulkWriteError as error:
        if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
            raise


def _state(gig: str, kind: str, key: str, t: int, **fields: Any) -> dict[str, Any]:
    return {"_id": mp.state_id(gig, kind, key), "p": partition(gig), "gig": gig, "k": kind,
            "t": t, **fields}


async def _copy_raw(db: Database) -> None:
    names = set(await db.list_collection_names())
    if "events" in names:
        async for chunk in _docs(db, "events"):
            await _insert_new(db, [
                _state(d["gig"], mp.EVENT, d["_id"], d["ts"], type=d["type"],
                       **{k: d[k] for k in ("seller", "invalid") if k in d})
                for d in chunk
            ])
    if "impressions" in names:
        async for chunk in _docs(db, "impressions"):
            await _insert_new(db, [
                _state(d["gig"], mp.IMPRESSION, d["_id"], d["bucket"],
                       **{k: d.get(k) for k in ("bucket", "surface", "viewable", "clicked",
                                                "position", "surface_known", "context")})
                for d in chunk
            ])
    if "page_views" in names:  # keyed `pv \x1f gig`, with no gig field
        async for chunk in _docs(db, "page_views"):
            await _insert_new(db, [
                _state(d["_id"].rsplit("\x1f", 1)[1], mp.PAGE_VIEW, d["_id"], d["bucket"])
                for d in chunk
            ])
    if "renders" in names:
        async for chunk in _docs(db, "renders"):
            copies = []
            for d in chunk:
                gig = await _gig_of_holder(db, d["holder"])
                if gig is not None:  # its holder is purged already: so is the tile's use
                    copies.append(_state(gig, mp.RENDER, d["_id"], d["ts"], holder=d["holder"]))
            await _insert_new(db, copies)
    if "context_days" in names:
        async for chunk in _docs(db, "context_days"):
            kept: dict[tuple[str, int], list[str]] = {}
            for d in chunk:
                kept.setdefault((d["gig"], d["day"]), []).append(d["context"])
            await db.gig_state.bulk_write([
                UpdateOne(*mp.contexts_addition(gig, day, contexts), upsert=True)
                for (gig, day), contexts in kept.items()
            ])


async def _gig_of_holder(db: Database, holder: str) -> str | None:
    """The gig of a render's holder: an impression or page load (keyed `id \x1f gig`), or an
    event (its own id)."""
    prefix = {"$gte": f"{holder}\x1f", "$lt": f"{holder}\x20"}
    for name in ("impressions", "page_views"):
        doc = await db[name].find_one({"_id": prefix}, {"_id": 1})
        if doc is not None:
            return str(doc["_id"]).rsplit("\x1f", 1)[1]
    event = await db.events.find_one({"_id": holder}, {"gig": 1})
    return None if event is None else str(event["gig"])


async def _copy_owners(db: Database) -> None:
    """Each gig's owner and claimants into its `gig_state` owner document, and `p` onto its
    listing record."""
    async for chunk in _docs(db, "gigs"):
        writes = []
        for d in chunk:
            owner = (d.get("seller"), d.get("seller_ts", 0))
            writes.append(UpdateOne(*mp.owner_update(d["_id"], owner, d.get("claimants", ())),
                                    upsert=True))
        await db.gig_state.bulk_write(writes)
        await db.gigs.bulk_write([
            UpdateOne({"_id": d["_id"]}, {"$set": {"p": partition(d["_id"])},
                                          "$unset": {"claimants": ""}})
            for d in chunk
        ])


async def _partition_counters(db: Database) -> None:
    """`p` onto every counter document without one (their ids and values are kept)."""
    for name in COUNTERS:
        # Grouped on the server and read as a cursor: any number of gigs.
        cursor = await db[name].aggregate(
            [{"$match": {"p": {"$exists": False}}}, {"$group": {"_id": "$gig"}}]
        )
        gigs = [doc["_id"] async for doc in cursor]
        for start in range(0, len(gigs), CHUNK):
            await db[name].bulk_write([
                UpdateMany({"gig": gig, "p": {"$exists": False}}, {"$set": {"p": partition(gig)}})
                for gig in gigs[start : start + CHUNK]
            ])
