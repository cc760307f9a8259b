"""MongoDB writes: one multi-document transaction per batch, so a batch counts all or nothing.

Inside the transaction (snapshot reads, the client's write concern on commit):

1. read which of the batch's event ids are stored already: those are duplicates;
2. insert the new events;
3. read the stored state of the impressions and page loads they name, and let
   `transitions.plan` (the same pure rules as the SQLite store) decide what they count;
4. write the changed impressions, the new page loads, changed gigs, the contexts each gig
   keeps per day (`transitions.bound_contexts`), and the context and rollup `$inc`s.

Why this is exact with many servers, retries and crashes: every decision is made from a
document the transaction also writes (an event id it inserts, an impression it replaces, a
page load it inserts), so two transactions that decide from the same state collide on that
write; the server aborts one with a `TransientTransactionError`, and it is run again from
fresh state. A process killed mid-batch leaves an open transaction that the server aborts
(mongod after `transactionLifetimeLimitSeconds`, 60 s by default): nothing half-written is
ever visible, so there is nothing to recover. A commit whose outcome is unknown (write
concern timeout, lost connection) is retried by the driver; if it stays unknown past the
time limit the batch is not acknowledged, and the client's retry is deduped by step 1.

Rollup `$inc`s commute; the one hot spot is many batches adding to one gig's bucket at once.
A transaction retried after a conflict writes its rollups to another slot of the row
(`pipelines.ROLLUP_SLOTS`), and readers add the slots up.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import PyMongoError
from pymongo.read_concern import ReadConcern

from ...counting.batch import Stored, needs, plan_batch
from ...counting.rules import ImpressionState, count_invalid
from ...model import Event, Rejection
from ..base import IngestResult
from . import pipelines as mp

Database = Any  # an AsyncDatabase
Session = Any  # an AsyncClientSession

SNAPSHOT = ReadConcern("snapshot")


async def ingest(
    client: Any,
    db: Database,
    events: Sequence[Event],
    rejections: Sequence[Rejection],
    timeout_s: float,
) -> IngestResult:
    """Store and count a batch in one transaction, retried whole on conflicts until
    `timeout_s` has passed."""
    if rejections:
        await db.rejections.insert_many(
            [
                {"received": r.received, "index": r.index, "reason": r.reason, "raw": r.raw}
                for r in rejections
            ]
        )
    if not events:
        return IngestResult(0, 0)
    deadline = time.monotonic() + timeout_s
    async with client.start_session() as session:
        for attempt in itertools.count():
            if attempt:
                await asyncio.sleep(random.random() * min(0.005 * 1.5**attempt, 0.5))
            await session.start_transaction(read_concern=SNAPSHOT)
            try:
                slot = 0 if attempt == 0 else random.randrange(1, mp.ROLLUP_SLOTS)
                result = await write_batch(db, session, events, slot)
                await _commit(session, deadline)
                return result
            except PyMongoError as error:
                # Abort now, each operation with its own time limit: a transaction left open
                # on the server would block every retry of this batch until it expires.
                if session.in_transaction:
                    await session.abort_transaction()
                transient = error.has_error_label("TransientTransactionError")
                if not transient or time.monotonic() >= deadline:
                    raise
    raise AssertionError("unreachable")  # pragma: no cover


async def _commit(session: Session, deadline: float) -> None:
    """Commit; an unknown outcome (lost connection, write-concern timeout) is retried until
    the deadline, then raised: the batch is not acknowledged, and its retry is deduped."""
    while True:
        try:
            await session.commit_transaction()
            return
        except PyMongoError as error:
            unknown = error.has_error_label("UnknownTransactionCommitResult")
            if not unknown or time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.05)


async def write_batch(
    db: Database, session: Session, events: Sequence[Event], slot: int
) -> IngestResult:
    """Steps 1-4 inside the caller's transaction."""
    stored = await _ids(db.events, {e.id for e in events}, session)
    new: list[Event] = []
    for event in events:
        if event.id not in stored:  # also catches the same id twice in this batch
            stored.add(event.id)
            new.append(event)
    judged = await _count(db, session, new, slot) if new else {}
    return IngestResult(len(new), len(events) - len(new), count_invalid(new, judged))


async def _count(
    db: Database, session: Session, new: list[Event], slot: int
) -> dict[str, str]:
    """Write and count new events as `batch.plan_batch` plans them; returns the ones it
    judged invalid (id -> reason)."""
    wanted = needs(new)
    stored = Stored(
        impressions=await _impressions(db, set(wanted.impressions), session),
        page_views=await _ids(db.page_views, wanted.page_views, session),
    )
    async for doc in db.gigs.find({"_id": {"$in": sorted(wanted.gigs)}}, session=session):
        stored.owners[doc["_id"]] = (doc.get("seller"), doc.get("seller_ts", 0))
        stored.claimants[doc["_id"]] = set(doc.get("claimants", ()))
    stored.add_claimants((), wanted.gigs)
    if wanted.renders:
        cursor = db.renders.find({"_id": {"$in": sorted(wanted.renders)}}, session=session)
        stored.renders = {doc["_id"]: doc["holder"] async for doc in cursor}
    todo = plan_batch(new, stored)
    if todo.more.context_days:
        days = todo.more.context_days
        cursor = db.context_days.find(mp.context_days_filter(days), session=session)
        found = mp.kept_contexts([doc async for doc in cursor])
        stored.add_contexts(
            [(gig, day, c) for (gig, day), kept in found.items() for c in kept], days
        )
        todo = plan_batch(new, stored)

    # Writes, the hottest last: a conflict on a busy rollup row can only happen in the one
    # round trip between that write and the commit.
    await db.events.insert_many(
        [mp.event_document(e, invalid=todo.judged.get(e.id)) for e, _ in todo.events],
        session=session,
    )
    if todo.renders:
        # Inserted: two batches spending the same signed tile collide here.
        await db.renders.insert_many(
            [mp.render_document(key, holder, ts) for key, holder, ts, _ in todo.renders],
            session=session,
        )
    if todo.impressions:
        writes = [mp.impression_replacement(k, todo.impression_gigs[k], s)
                  for k, s in todo.impressions.items()]
        await db.impressions.bulk_write(
            [ReplaceOne(f, doc, upsert=True) for f, doc in writes], session=session
        )
    if todo.page_views:
        await db.page_views.bulk_write(
            [InsertOne(mp.page_view_document(k, b)) for k, b in todo.page_views.items()],
            session=session,
        )
    # A gig's kept claimants live on its document: two batches that admit one each write it,
    # collide, and one is retried, so the cap holds across servers.
    gig_writes = [UpdateOne(*mp.gig_owner(gig, *owner), upsert=True)
                  for gig, owner in todo.owners.items()]
    gig_writes += [UpdateOne(*mp.claimants_addition(gig, sellers), upsert=True)
                   for gig, sellers in todo.claimants.items()]
    if gig_writes:
        await db.gigs.bulk_write(gig_writes, session=session)
    if todo.claims:
        await db.gig_claims.bulk_write(
            [UpdateOne(*mp.claim_increment(c), upsert=True) for c in todo.claims.values()],
            session=session,
        )
    if todo.invalid:
        await db.invalid_rollups.bulk_write(
            [UpdateOne(*mp.invalid_increment(key, n), upsert=True)
             for key, n in todo.invalid.items()],
            session=session,
        )
    if todo.admitted:
        await db.context_days.insert_many(
            [mp.context_day_document(*triple) for triple in sorted(todo.admitted)],
            session=session,
        )
    if todo.contexts:
        await db.context_rollups.bulk_write(
            [UpdateOne(*mp.context_rollup_increment(k, c), upsert=True)
             for k, c in todo.contexts.items()],
            session=session,
        )
    if todo.rollups:
        await db.rollups.bulk_write(
            [UpdateOne(*mp.rollup_increment(k, c, slot), upsert=True)
             for k, c in todo.rollups.items()],
            session=session,
        )
    return todo.judged


async def _ids(collection: Any, ids: Iterable[str], session: Session) -> set[str]:
    wanted = sorted(ids)
    if not wanted:
        return set()
    cursor = collection.find({"_id": {"$in": wanted}}, {"_id": 1}, session=session)
    return {doc["_id"] async for doc in cursor}


async def _impressions(
    db: Database, keys: set[str], session: Session
) -> dict[str, ImpressionState]:
    if not keys:
        return {}
    cursor = db.impressions.find({"_id": {"$in": sorted(keys)}}, session=session)
    return {doc["_id"]: mp.impression_state(doc) async for doc in cursor}
