"""MongoDB writes: per zone of gig partitions, one multi-document transaction of a few commands.

A batch's events are split by the zone of their gig's partition (`pipelines.zone_of`; one
zone unless GIGMETRICS_MONGO_PARTITION_GROUPS says more, to match a sharded cluster's zones),
and each zone's events are counted in one transaction, the zones concurrently:

1. one `find` on `gig_state` by `_id` (snapshot read) loads every stored state the batch
   decides from: its event ids (stored ones are duplicates), the impressions, page loads and
   signed renders its events name, the contexts its gigs keep on its days, and each gig's
   owner with the sellers it keeps claims for;
2. `batch.plan_batch` (the same pure rules as the SQLite store) turns the new events and
   that state into every write; in the rare case it needs the kept contexts of another day
   (an impression stored yesterday, clicked today), one more `find` and it plans again;
3. one client-level `bulkWrite` (one command for every collection, MongoDB 8.0 and later;
   on older servers one `bulk_write` per collection) writes the events, impressions, page
   loads, renders, kept contexts, owners (and the `gigs` listing records), claims, and the
   invalid, context and rollup `$inc`s;
4. one commit, with the client's write concern.

The batch is acknowledged only when every zone's transaction has committed; if one fails the
batch fails (503), and the client's retry is deduped per event by step 1 in the zones that
did commit. Rejected events are written before, outside the transactions (a capped
collection cannot take transactional writes), with ids from their content so a retried
batch does not log them twice.

Why this is exact with many servers, retries and crashes: every decision is made from a
`gig_state` document the transaction also writes (an event id it inserts, an impression it
replaces, a page load or render it inserts, the gig-day's kept contexts or the owner it
updates), so two transactions that decide from the same state collide on that write; the
server aborts one with a `TransientTransactionError`, and it is run again from fresh state.
A process killed mid-batch leaves an open transaction that the server aborts (mongod after
`transactionLifetimeLimitSeconds`, 60 s by default): nothing half-written is ever visible.
A commit whose outcome is unknown is retried by the driver; if it stays unknown past the time
limit the batch is not acknowledged, and the client's retry is deduped by step 1.

Counter `$inc`s commute and need no read. So that concurrent batches into one gig's bucket
do not write one document, each transaction in flight holds a slot of its own
(`WriterSlots`: distinct within a process, from a random start per process) and writes its
counters there; readers add the slots up. A transaction retried after a conflict takes a
random free slot: a killed process's open transaction keeps its slot's documents until the
server aborts it, and no retry should wait for that.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, ClientBulkWriteException, PyMongoError
from pymongo.read_concern import ReadConcern

from ...counting.batch import Stored, needs, plan_batch
from ...counting.rules import count_invalid
from ...model import Event, Rejection, partition
from ..base import IngestResult
from . import pipelines as mp

Database = Any  # an AsyncDatabase
Session = Any  # an AsyncClientSession

SNAPSHOT = ReadConcern("snapshot")
DUPLICATE_KEY = 11000
WRITE_CONFLICT = 112
# The first wire version of MongoDB 8.0, whose servers take one `bulkWrite` for several
# collections.
CLIENT_BULK_WIRE_VERSION = 25


class WriterSlots:
    """Counter slots for this process's transactions in flight: each holds one no other
    holds, counted from `start` (the store's own run of slots: `MongoStore._writer_number`),
    so that processes write different counter documents too."""

    def __init__(self, start: int | None = None) -> None:
        self.start = (random.randrange(mp.ROLLUP_SLOTS) if start is None else start) % (
            mp.ROLLUP_SLOTS
        )
        self._held: set[int] = set()

    @contextlib.contextmanager
    def hold(self, retry: bool = False) -> Iterator[int]:
        """The lowest free slot past the start, held until the block ends. A retry after a
        conflict takes a random free one instead: the conflict may have been with a
        transaction left open by a killed process, which holds its slot until the server
        aborts it (more than ROLLUP_SLOTS at once share: still exact, only more conflicts)."""
        free = [n for n in range(mp.ROLLUP_SLOTS) if n not in self._held]
        if not free:
            offset = random.randrange(mp.ROLLUP_SLOTS)
        else:
            offset = random.choice(free) if retry else free[0]
        self._held.add(offset)
        try:
            yield (self.start + offset) % mp.ROLLUP_SLOTS
        finally:
            self._held.discard(offset)


class Writer:
    """How a store writes batches: the client, its database, the zones, the slots."""

    def __init__(
        self, client: Any, db: Database, *, zones: int = 1, client_bulk: bool = True,
        slots: WriterSlots | None = None,
    ) -> None:
        self.client = client
        self.db = db
        self.zones = zones
        self.client_bulk = client_bulk
        self.slots = slots or WriterSlots()

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection], timeout_s: float
    ) -> IngestResult:
        """Store and count a batch, one transaction per zone it touches (retried whole on
        conflicts until `timeout_s` has passed); acknowledged when all have committed."""
        if rejections:
            await self._reject(rejections)
        if not events:
            return IngestResult(0, 0)
        deadline = time.monotonic() + timeout_s
        by_zone: dict[int, list[Event]] = {}
        for event in events:
            by_zone.setdefault(mp.zone_of(partition(event.gig), self.zones), []).append(event)
        if len(by_zone) == 1:
            return await self._transaction(events, deadline)
        outcomes = await asyncio.gather(
            *(self._transaction(part, deadline) for part in by_zone.values()),
            return_exceptions=True,
        )
        for outcome in outcomes:  # all settled first: none is left running unobserved
            if isinstance(outcome, BaseException):
                raise outcome
        results = [o for o in outcomes if isinstance(o, IngestResult)]
        return IngestResult(
            sum(r.accepted for r in results),
            sum(r.duplicates for r in results),
            sum(r.invalid for r in results),
        )

    async def _reject(self, rejections: Sequence[Rejection]) -> None:
        try:
            await self.db.rejections.insert_many(
                [mp.rejection_document(r) for r in rejections], ordered=False
            )
        except BulkWriteError as error:  # logged already: by this batch's earlier try
            if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
                raise

    async def _transaction(self, events: Sequence[Event], deadline: float) -> IngestResult:
        async with self.client.start_session() as session:
            for attempt in itertools.count():
                if attempt:
                    await asyncio.sleep(random.random() * min(0.005 * 1.5**attempt, 0.5))
                await session.start_transaction(read_concern=SNAPSHOT)
                try:
                    with self.slots.hold(retry=attempt > 0) as slot:
                        result = await self.write_batch(session, events, slot)
                        await _commit(session, deadline)
                    return result
                except PyMongoError as error:
                    # Abort now, each operation with its own time limit: a transaction left
                    # open on the server would block every retry of this batch until it
                    # expires.
                    if session.in_transaction:
                        await session.abort_transaction()
                    if not _transient(error) or time.monotonic() >= deadline:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def write_batch(
        self, session: Session, events: Sequence[Event], slot: int
    ) -> IngestResult:
        """Steps 1-3 inside the caller's transaction."""
        wanted = needs(events)
        state = self.db.gig_state
        stored = Stored()
        docs = await _find(state, mp.state_query(events, wanted), session, len(events))
        seen = mp.load_state(docs, stored, wanted.gigs)
        stored.add_contexts((), wanted.context_days)  # asked for: absent ones keep none yet
        new: list[Event] = []
        for event in events:
            key = mp.state_id(event.gig, mp.EVENT, event.id)
            if key not in seen:  # also catches the same id twice in this batch
                seen.add(key)
                new.append(event)
        if not new:
            return IngestResult(0, len(events))
        stored.add_variants((), wanted.context_days)  # loaded with the contexts
        todo = plan_batch(new, stored)
        if todo.more.context_days or todo.more.variant_days:
            days, variant_days = todo.more.context_days, todo.more.variant_days
            docs = await _find(state, mp.contexts_query(days, variant_days), session,
                               len(days) + len(variant_days))
            mp.load_state(docs, stored, ())
            stored.add_contexts((), days)
            stored.add_variants((), variant_days)
            todo = plan_batch(new, stored)
        await self._write(mp.batch_writes(todo, slot), session)
        return IngestResult(len(new), len(events) - len(new), count_invalid(new, todo.judged))

    async def _write(self, ops: list[mp.Op], session: Session) -> None:
        if self.client_bulk:
            prefix = f"{self.db.name}."
            await self.client.bulk_write(
                [_model(op, prefix + op[0]) for op in ops], session=session
            )
            return
        by_collection: dict[str, list[Any]] = {}
        for op in ops:
            by_collection.setdefault(op[0], []).append(_model(op))
        for name, models in by_collection.items():
            await self.db[name].bulk_write(models, session=session)

    async def set_owner(self, gig: str, seller: str, when: int, timeout_s: float) -> None:
        """Make `seller` the owner of `gig` (its decision state and its listing record, in
        one transaction, so an ingest deciding from the old owner collides with it)."""
        deadline = time.monotonic() + timeout_s
        async with self.client.start_session() as session:
            while True:
                await session.start_transaction()
                try:
                    await self.db.gig_state.update_one(
                        *mp.owner_update(gig, (seller, when), ()), upsert=True, session=session
                    )
                    await self.db.gigs.update_one(
                        *mp.gig_owner(gig, seller, when), upsert=True, session=session
                    )
                    await _commit(session, deadline)
                    return
                except PyMongoError as error:
                    if session.in_transaction:
                        await session.abort_transaction()
                    if not _transient(error) or time.monotonic() >= deadline:
                        raise


def _model(op: mp.Op, namespace: str | None = None) -> Any:
    _, kind, first, second = op
    if kind == "insert":
        return InsertOne(first, namespace=namespace)
    assert second is not None
    if kind == "replace":
        return ReplaceOne(first, second, upsert=True, namespace=namespace)
    return UpdateOne(first, second, upsert=True, namespace=namespace)


async def _find(collection: Any, query: dict[str, Any], session: Session, most: int) -> list[Any]:
    # One batch holds every match (at most one per `_id` asked for), so no `getMore`.
    asked = len(query["_id"]["$in"]) if "_id" in query else most
    cursor = collection.find(query, session=session, batch_size=asked + 1)
    docs: list[Any] = await cursor.to_list(None)
    return docs


def _transient(error: PyMongoError) -> bool:
    """A conflict or a lost connection: the whole transaction may run again."""
    if error.has_error_label("TransientTransactionError"):
        return True
    if isinstance(error, ClientBulkWriteException):
        inner = error.error
        if isinstance(inner, PyMongoError) and inner.has_error_label("TransientTransactionError"):
            return True
        errors: Any = error.write_errors or ()
        return any(e.get("code") == WRITE_CONFLICT for e in errors)
    return False


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
