"""The production store: MongoDB through PyMongo's asyncio API (`pymongo.AsyncMongoClient`).

Opening runs, in order: a `hello` (fails fast on an unreachable server, and tells whether
the server takes one `bulkWrite` across collections: MongoDB 8.0, wire version 25), the
missing collections and indexes, then the migration of a database of the layout before
partitions (`migration.py`, once per database). Each batch is then one transaction per zone
of gig partitions it touches, of three commands: a read, a write, a commit (`ingest.py`);
the query and document shapes are pure builders (`pipelines.py`). Needs a replica set or a
sharded cluster (transactions); a single-node replica set is enough.

Production notes (README "MongoDB"):
- write concern `majority` with `j: true` (the default here unless the URL sets `w`), so an
  acknowledged event survives the loss of the primary; read preference `primary`, so an
  acknowledged event is visible to the next query;
- every operation has a time limit (`timeoutMS` in the URL, default 5 s): a stalled server
  makes a batch fail with 503 (the client retries later) instead of hanging;
- shard plan: `pipelines.SHARD_KEYS`, `p` first in every gig-keyed key; zones are ranges of
  `p` (GIGMETRICS_MONGO_PARTITION_GROUPS of them).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pymongo
from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.errors import CollectionInvalid, DuplicateKeyError, PyMongoError

from ...counting.metrics import ContextRow, Metrics, RollupRow
from ...counting.ownership import Conflict
from ...counting.splits import SplitRow
from ...errors import StoreUnavailable
from ...model import Event, Rejection, Surface, bucket_of, now_ms
from ..base import REJECTIONS_KEPT, ApiKey, DeletedData, IngestResult, InvalidRow, StoredRejection
from . import ingest as mongo_ingest
from . import migration
from . import pipelines as mp

log = logging.getLogger("gigmetrics.mongo")

DEFAULT_DATABASE = "gigmetrics"
DEFAULT_TIMEOUT_MS = 5_000
# Index builds on a large existing collection may take a while; start-up still never waits
# for ever.
OPEN_TIMEOUT_S = 60.0
# Counter slots a store takes for its transactions in flight (of pipelines.ROLLUP_SLOTS):
# the first four servers of a database write disjoint counter documents.
SLOTS_PER_WRITER = 4
REJECTIONS_BYTES = 64 * 1024 * 1024
# A change stream's getMore waits this long for news, and each wait has its own time limit
# (the client's `timeoutMS` would otherwise end an idle stream).
CHANGES_AWAIT_MS = 500
CHANGES_WAIT_LIMIT_S = 10.0  # or REJECTIONS_KEPT documents, whichever comes first

ClientFactory = Callable[[str], Any]

# Every gig-keyed collection has its shard key's index (`pipelines.SHARD_KEYS`), the one
# reads and deletions by gig use; purges use {k, t} and {bucket}.
INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "gig_state": [
        ([("gig", 1), ("k", 1)], {}),
        ([("k", 1), ("t", 1)], {}),
        ([("seller", 1)], {"sparse": True}),
    ],
    "gigs": [([("p", 1), ("_id", 1)], {}), ([("seller", 1)], {})],
    "rollups": [([("p", 1), ("gig", 1), ("bucket", 1)], {}), ([("bucket", 1)], {})],
    "context_rollups": [([("p", 1), ("gig", 1), ("bucket", 1)], {}), ([("bucket", 1)], {})],
    "invalid_rollups": [([("p", 1), ("gig", 1), ("bucket", 1)], {}), ([("bucket", 1)], {})],
    "split_rollups": [([("p", 1), ("gig", 1), ("bucket", 1)], {}), ([("bucket", 1)], {})],
    "gig_claims": [([("p", 1), ("gig", 1)], {}), ([("last", -1)], {}), ([("seller", 1)], {})],
    "rate_counters": [([("expires", 1)], {"expireAfterSeconds": 0})],
    "api_keys": [([("secret_hash", 1)], {"unique": True})],
}


def database_name(url: str) -> str:
    """The database named by the URL's path, or `gigmetrics`."""
    return unquote(urlsplit(url).path.lstrip("/")) or DEFAULT_DATABASE


def timeout_ms(url: str) -> int:
    """The URL's `timeoutMS`, or the default time limit of one operation (and one batch)."""
    for name, values in parse_qs(urlsplit(url).query).items():
        if name.lower() == "timeoutms" and values[-1].isdigit() and int(values[-1]) > 0:
            return int(values[-1])
    return DEFAULT_TIMEOUT_MS


def default_client(url: str) -> Any:
    """A real client: majority, journaled writes, and a time limit on every operation."""
    options = {k.lower() for k in parse_qs(urlsplit(url).query)}
    extra: dict[str, Any] = {}
    if "appname" not in options:
        extra["appname"] = "gigmetrics"
    if "w" not in options:
        extra.update(w="majority", journal=True)
    if "timeoutms" not in options:
        extra["timeoutMS"] = DEFAULT_TIMEOUT_MS
    if "serverselectiontimeoutms" not in options:
        extra["serverSelectionTimeoutMS"] = 5_000
    return AsyncMongoClient(url, **extra)


@contextlib.asynccontextmanager
async def answering(what: str) -> AsyncIterator[None]:
    """Turn any driver error (timeouts, write-concern errors, lost connections) into
    `StoreUnavailable`: the caller answers 503 and the client retries later."""
    try:
        yield
    except PyMongoError as error:
        raise StoreUnavailable(f"MongoDB could not {what}: {error}") from error


class MongoStore:
    """gigmetrics in MongoDB."""

    def __init__(
        self, url: str, *, client_factory: ClientFactory | None = None, partition_groups: int = 1
    ) -> None:
        self.url = url
        self.database = database_name(url)
        self._factory = client_factory or default_client
        self.timeout_s = timeout_ms(url) / 1000
        # Transactions per batch at most: one per zone of gig partitions it touches.
        self.partition_groups = partition_groups
        self._client: Any = None
        self._db: Any = None
        self._writer: mongo_ingest.Writer | None = None
        # Taken at the first batch, not at open: a start-up check that opens and closes a
        # store would use up a number, and two servers' runs of slots would meet.
        self._numbered = False

    async def open(self) -> None:
        """Connect and create missing collections and indexes (bounded in time)."""
        if self._client is not None:
            return
        self._client = self._factory(self.url)
        self._db = self._client[self.database]
        try:
            hello = await self._db.command("hello")  # fails fast on an unreachable server
            with pymongo.timeout(OPEN_TIMEOUT_S):
                await self._create_collections()
            # A database of the layout before partitions is brought up to this one (each of
            # its commands has the client's time limit; the whole may take longer).
            if await migration.migrate(self._db, OPEN_TIMEOUT_S):
                log.info("migrated database %r to layout %d", self.database, migration.LAYOUT)
            self._writer = mongo_ingest.Writer(
                self._client, self._db, zones=self.partition_groups,
                client_bulk=hello.get("maxWireVersion", 0)
                >= mongo_ingest.CLIENT_BULK_WIRE_VERSION,
            )
        except PyMongoError as error:
            await self.close()
            raise StoreUnavailable(
                f"MongoDB did not answer while opening database {self.database!r}: {error}. "
                "Check that the server in GIGMETRICS_DATABASE_URL is running, reachable, and "
                "a replica set (transactions need one; a single node is enough)."
            ) from error

    async def _writer_number(self) -> int:
        """This store's number among every store that opened the database (0, 1, 2...):
        each takes its own run of counter slots, so two servers' transactions in flight do
        not write the same counter documents (random starts collided: 1.33 attempts per
        beacon with 8 writers on popular gigs, `bench/mongo_ops.py`)."""
        writers = self._db.writers
        with contextlib.suppress(DuplicateKeyError):  # made already, by us or another server
            await writers.insert_one({"_id": "count", "n": 0})
        doc = await writers.find_one_and_update(
            {"_id": "count"}, {"$inc": {"n": 1}}, return_document=ReturnDocument.AFTER
        )
        return int(doc["n"]) - 1

    async def _create_collections(self) -> None:
        with contextlib.suppress(CollectionInvalid):  # made already, by us or another server
            await self._db.create_collection(
                "rejections", capped=True, size=REJECTIONS_BYTES, max=REJECTIONS_KEPT
            )
        for name, indexes in INDEXES.items():
            for keys, options in indexes:
                await self._db[name].create_index(keys, **options)

    async def close(self) -> None:
        """Close the client; safe to call twice."""
        client, self._client, self._db, self._writer = self._client, None, None, None
        if client is not None:
            await client.close()

    async def ping(self) -> bool:
        """True while the database takes a write with the store's write concern."""
        if self._db is None:
            return False
        try:
            await self.probe_write()
        except StoreUnavailable:
            return False
        return True

    async def probe_write(self) -> None:
        """One small majority write (the `health` collection's one document), or
        `StoreUnavailable`: reads may work while writes do not."""
        async with answering("take a write"):
            with pymongo.timeout(min(self.timeout_s, 2.0)):
                await self._live().health.update_one(
                    {"_id": "ping"}, {"$set": {"at": now_ms()}}, upsert=True
                )

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection] = ()
    ) -> IngestResult:
        """Store and count a batch in one transaction: all of it, exactly once, or nothing."""
        self._live()
        assert self._writer is not None
        async with answering("store this batch"):
            if not self._numbered:
                self._numbered = True  # (one number per store: set before the await)
                number = await self._writer_number()
                self._writer.slots.start = number * SLOTS_PER_WRITER % mp.ROLLUP_SLOTS
            return await self._writer.ingest(events, rejections, self.timeout_s)

    async def surface_totals(self, gigs: Sequence[str], start: int, end: int) -> list[RollupRow]:
        """Rows summed per (gig, surface) over the window; `bucket` is `start`."""
        docs = await self._aggregate("rollups", mp.surface_totals(gigs, start, end))
        return [mp.grouped_row(doc, start) for doc in docs]

    async def span_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[RollupRow]:
        """Rows summed per (gig, span, surface) on the server; bucket is the span's start."""
        if len(edges) < 2 or not gigs:
            return []
        docs = await self._aggregate("rollups", mp.span_totals(gigs, edges))
        return [mp.grouped_row(doc) for doc in docs]

    async def gig_totals(
        self, gigs: Sequence[str] | None, start: int, end: int,
        click_surfaces: frozenset[Surface],
    ) -> dict[str, Metrics]:
        """Each gig's totals over the window (None: every gig, matched without a list of
        them), summed on the server: one result per gig."""
        if gigs is not None and not gigs:
            return {}
        docs = await self._aggregate("rollups", mp.gig_totals(gigs, start, end, click_surfaces))
        return {gig: Metrics.of(counts) for gig, counts in map(mp.gig_total, docs)}

    async def context_totals(
        self, gigs: Sequence[str], start: int, end: int
    ) -> list[ContextRow]:
        """Context rollups summed per (gig, surface, context), through the {gig, bucket} index."""
        docs = await self._aggregate("context_rollups", mp.context_totals(gigs, start, end))
        return [mp.context_row(doc) for doc in docs]

    async def split_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[SplitRow]:
        """Split rollups summed per (gig, span, kind, key) on the server."""
        if len(edges) < 2 or not gigs:
            return []
        docs = await self._aggregate("split_rollups", mp.split_totals(gigs, edges))
        return [mp.split_row(doc) for doc in docs]

    async def sellers(self) -> list[str]:
        """Every seller some gig belongs to, sorted."""
        async with answering("read sellers"):
            found = await self._live().gigs.distinct("seller", {"seller": {"$ne": None}})
        return sorted(s for s in found if s is not None)

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with one of these sellers (every gig for None), sorted."""
        query = {} if sellers is None else {"seller": {"$in": sorted(set(sellers))}}
        docs = await self._find("gigs", query, {"_id": 1})
        return sorted(doc["_id"] for doc in docs)

    async def seller_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each of these gigs that has one."""
        query = {"_id": {"$in": sorted(set(gigs))}, "seller": {"$ne": None}}
        return {doc["_id"]: doc["seller"] for doc in await self._find("gigs", query)}

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first (a capped collection keeps the newest
        `REJECTIONS_KEPT`, in insertion order)."""
        if limit <= 0:
            return []
        async with answering("read rejected events"):
            newest = [("received", -1), ("index", -1)]
            cursor = self._live().rejections.find().sort(newest).limit(limit)
            docs = await cursor.to_list(None)
        return [StoredRejection(d["received"], d["index"], d["reason"], d["raw"]) for d in docs]

    def counters(self) -> Any:
        """A `limits` storage shared by every process on this database (over-rate traffic)."""
        from ...edge.traffic import MongoCounters

        return MongoCounters(self._live().rate_counters)

    async def invalid_totals(self, gigs: Sequence[str], start: int, end: int) -> list[InvalidRow]:
        """Invalid-traffic rollups summed per (gig, reason), through the {gig, bucket} index."""
        docs = await self._aggregate("invalid_rollups", mp.invalid_totals(gigs, start, end))
        return [InvalidRow(d["_id"]["gig"], d["_id"]["reason"], int(d["events"])) for d in docs]

    async def set_owner(self, gig: str, seller: str, when: int) -> None:
        """Make `seller` the owner of `gig`, whatever it was (filter by the shard key)."""
        self._live()
        assert self._writer is not None
        async with answering("set the gig's owner"):
            await self._writer.set_owner(gig, seller, when, self.timeout_s)

    async def gig_claims(self, limit: int) -> list[Conflict]:
        """Sellers named for gigs another seller owns, most recent first."""
        if limit <= 0:
            return []
        docs = await self._aggregate("gig_claims", mp.claims_newest(limit))
        return [mp.conflict(doc) for doc in docs]

    async def purge(self, raw_before: int, buckets_before: int) -> None:
        """Drop raw data of whole buckets before `raw_before` and rollups before
        `buckets_before` (multi-document deletes: no shard key needed)."""
        db = self._live()
        async with answering("purge old data"):
            for name, query in mp.purge_filters(bucket_of(raw_before), buckets_before):
                await db[name].delete_many(query)

    @contextlib.asynccontextmanager
    async def changes(self) -> AsyncIterator[AsyncIterator[frozenset[str]]]:
        """Gigs whose rollups any server process changed, through one change stream on
        `rollups` (opened on entering, so nothing committed after that is missed)."""
        async with answering("watch rollups"):
            stream = await self._live().rollups.watch(
                mp.ROLLUP_CHANGES, max_await_time_ms=CHANGES_AWAIT_MS
            )
        try:
            yield _changed_gigs(stream)
        finally:
            with contextlib.suppress(PyMongoError):
                await stream.close()

    async def delete_data(self, gigs: Sequence[str], seller: str | None = None) -> DeletedData:
        """Delete everything of these gigs (and raw events and rejections naming `seller`),
        collection by collection; idempotent, so a failed call is simply run again."""
        if not gigs and seller is None:
            return DeletedData()
        db = self._live()
        counts: dict[str, int] = {}
        async with answering("delete the data"):
            for name, collection, query in mp.deletion_filters(gigs, seller):
                if name in _KEPT:  # counted as the names kept, as on SQLite
                    field = _KEPT[name]
                    kept = await db[collection].find(query, {field: 1}).to_list(None)
                    counts[name] = sum(len(doc.get(field, ())) for doc in kept)
                deleted = (await db[collection].delete_many(query)).deleted_count
                if name and name not in _KEPT:
                    counts[name] = counts.get(name, 0) + deleted
        return DeletedData(**counts)

    async def save_key(self, key: ApiKey) -> None:
        """Store a new API key (its id and secret hash must be new)."""
        async with answering("save the key"):
            await self._live().api_keys.insert_one(
                {
                    "_id": key.key_id,
                    "secret_hash": key.secret_hash,
                    "name": key.name,
                    "sellers": list(key.sellers),
                    "can_write": key.can_write,
                    "created": key.created,
                    "revoked": key.revoked,
                    "expires": key.expires,
                    "last_used": key.last_used,
                }
            )

    async def keys(self) -> list[ApiKey]:
        """All API keys, revoked ones too, oldest first."""
        async with answering("read keys"):
            cursor = self._live().api_keys.find().sort([("created", 1), ("_id", 1)])
            return [_api_key(doc) for doc in await cursor.to_list(None)]

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to `secret_hash`, revoked or not."""
        async with answering("read the key"):
            doc = await self._live().api_keys.find_one({"secret_hash": secret_hash})
        return None if doc is None else _api_key(doc)

    async def revoke_key(self, key_id: str, when: int) -> bool:
        """Mark a key revoked (the first revocation time stays); False when there is none."""
        keys = self._live().api_keys
        async with answering("revoke the key"):
            await keys.update_one({"_id": key_id, "revoked": None}, {"$set": {"revoked": when}})
            return await keys.find_one({"_id": key_id}, {"_id": 1}) is not None

    async def touch_key(self, key_id: str, when: int) -> None:
        """Record a use of the key; `last_used` only moves forward."""
        newer = {"_id": key_id, "$or": [{"last_used": None}, {"last_used": {"$lt": when}}]}
        async with answering("record the key's use"):
            await self._live().api_keys.update_one(newer, {"$set": {"last_used": when}})

    async def _find(
        self, collection: str, query: dict[str, Any], projection: dict[str, Any] | None = None
    ) -> list[Any]:
        async with answering(f"read {collection}"):
            docs: list[Any] = await self._live()[collection].find(query, projection).to_list(None)
        return docs

    async def _aggregate(self, collection: str, pipeline: list[dict[str, Any]]) -> list[Any]:
        async with answering(f"read {collection}"):
            cursor = await self._live()[collection].aggregate(pipeline)
            docs: list[Any] = await cursor.to_list(None)
        return docs

    def _live(self) -> Any:
        if self._db is None:
            raise StoreUnavailable("the MongoDB store is closed: call `await store.open()` first.")
        return self._db


async def _changed_gigs(stream: Any) -> AsyncIterator[frozenset[str]]:
    while True:
        with pymongo.timeout(CHANGES_WAIT_LIMIT_S):
            change = await stream.try_next()
        if change is not None and (gig := mp.changed_gig(change)) is not None:
            yield frozenset((gig,))


def _api_key(doc: dict[str, Any]) -> ApiKey:
    return ApiKey(
        key_id=doc["_id"],
        secret_hash=doc["secret_hash"],
        name=doc["name"],
        sellers=tuple(doc.get("sellers") or ()),
        can_write=bool(doc.get("can_write")),
        created=doc["created"],
        revoked=doc.get("revoked"),
        expires=doc.get("expires"),
        last_used=doc.get("last_used"),
    )


# Kept names per gig and day, counted by name (one document holds a day's).
_KEPT = {"context_days": "contexts", "variant_days": "variants"}
