"""The production store: MongoDB through PyMongo's asyncio API (`pymongo.AsyncMongoClient`).

How writes stay exact without transactions, and crash recovery: `mongo_ingest.py`.
The query shapes: `mongo_pipelines.py`.

Production notes:
- shard `rollups` on `{gig: 1, bucket: 1}` (a gig's 30-day query hits one shard range) and
  `events`, `impressions`, `page_views` on hashed `_id` (writes spread evenly);
- write concern `majority` with `j: true` (the default here unless the URL sets `w`), so an
  acknowledged event survives the loss of the primary;
- read preference `primary`, so an acknowledged event is visible to the next query;
- `purge()` (hourly in the app) also runs `recover()`, so an ingest cut short by a crash is
  finished even when that server never restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from ..errors import StoreUnavailable
from ..events import Event, Rejection
from ..metrics import RollupRow, sum_spans
from ..transitions import bucket_of
from . import mongo_ingest
from . import mongo_pipelines as mp
from .base import ApiKey, IngestResult, StoredRejection

DEFAULT_DATABASE = "gigmetrics"
REJECTIONS_KEPT = 100_000

ClientFactory = Callable[[str], Any]

INDEXES: dict[str, list[tuple[list[tuple[str, int]], dict[str, Any]]]] = {
    "events": [
        ([("ts", 1)], {}),
        ([("received", 1)], {"name": "unapplied", "partialFilterExpression": {"applied": False}}),
    ],
    "impressions": [([("bucket", 1)], {})],
    "page_views": [([("bucket", 1)], {})],
    "rollups": [([("gig", 1), ("bucket", 1)], {}), ([("bucket", 1)], {})],
    "gigs": [([("seller", 1)], {})],
    "api_keys": [([("secret_hash", 1)], {"unique": True})],
    "rejections": [([("received", -1)], {})],
}


def database_name(url: str) -> str:
    """The database named by the URL's path, or `gigmetrics`."""
    return unquote(urlsplit(url).path.lstrip("/")) or DEFAULT_DATABASE


def default_client(url: str) -> Any:
    """A real client: majority, journaled writes and a short server-selection timeout."""
    options = {k.lower() for k in parse_qs(urlsplit(url).query)}
    extra: dict[str, Any] = {"appname": "gigmetrics"}
    if "w" not in options:
        extra.update(w="majority", journal=True)
    if "serverselectiontimeoutms" not in options:
        extra["serverSelectionTimeoutMS"] = 5_000
    return AsyncMongoClient(url, **extra)


class MongoStore:
    """gigmetrics in MongoDB."""

    def __init__(self, url: str, *, client_factory: ClientFactory | None = None) -> None:
        self.url = url
        self.database = database_name(url)
        self._factory = client_factory or default_client
        self._client: Any = None
        self._db: Any = None

    async def open(self) -> None:
        """Connect, create missing indexes, and finish any ingest a crash interrupted."""
        if self._client is not None:
            return
        self._client = self._factory(self.url)
        self._db = self._client[self.database]
        try:
            for name, indexes in INDEXES.items():
                for keys, options in indexes:
                    await self._db[name].create_index(keys, **options)
            await self.recover()
        except PyMongoError as error:
            await self.close()
            raise StoreUnavailable(
                f"MongoDB did not answer while opening database {self.database!r}: {error}. "
                "Check that the server in GIGMETRICS_DATABASE_URL is running and reachable."
            ) from error

    async def close(self) -> None:
        """Close the client; safe to call twice."""
        client, self._client, self._db = self._client, None, None
        if client is not None:
            await client.close()

    async def ping(self) -> bool:
        """True while the server answers `ping`."""
        if self._db is None:
            return False
        try:
            reply = await self._db.command("ping")
        except PyMongoError:
            return False
        return bool(reply.get("ok"))

    async def ingest(
        self, events: Sequence[Event], rejections: Sequence[Rejection] = ()
    ) -> IngestResult:
        """Insert new events, apply their transitions atomically, then add the rollup delta."""
        return await mongo_ingest.ingest(self._live(), events, rejections)

    async def recover(self, *, grace_ms: int | None = None) -> int:
        """Finish ingests stopped by a crash (events unapplied for `grace_ms`); how many.

        Safe to run at any time and from any server.
        """
        return await mongo_ingest.recover(self._live(), grace_ms)

    async def rollups(self, gigs: Sequence[str], start: int, end: int) -> list[RollupRow]:
        """Rows of these gigs with `start <= bucket < end`, through the {gig, bucket} index."""
        docs = await self._live().rollups.find(mp.rollups_filter(gigs, start, end)).to_list(None)
        return [mp.rollup_row(doc) for doc in docs]

    async def surface_totals(self, gigs: Sequence[str], start: int, end: int) -> list[RollupRow]:
        """Rows summed per (gig, surface) over the window; `bucket` is `start`."""
        docs = await mongo_ingest.aggregate(
            self._live(), "rollups", mp.surface_totals(gigs, start, end)
        )
        return [mp.surface_total_row(doc, start) for doc in docs]

    async def span_totals(self, gigs: Sequence[str], edges: Sequence[int]) -> list[RollupRow]:
        """Rows summed per (gig, span, surface); bucket is the span's start."""
        if len(edges) < 2:
            return []
        return sum_spans(await self.rollups(gigs, edges[0], edges[-1]), edges)

    async def gigs_of_sellers(self, sellers: Sequence[str] | None) -> list[str]:
        """Gig ids seen with one of these sellers (every gig for None), sorted."""
        query = {} if sellers is None else {"seller": {"$in": sorted(set(sellers))}}
        docs = await self._live().gigs.find(query, {"_id": 1}).to_list(None)
        return sorted(doc["_id"] for doc in docs)

    async def seller_of(self, gigs: Sequence[str]) -> dict[str, str]:
        """The seller last seen for each of these gigs that has one."""
        query = {"_id": {"$in": sorted(set(gigs))}, "seller": {"$ne": None}}
        docs = await self._live().gigs.find(query).to_list(None)
        return {doc["_id"]: doc["seller"] for doc in docs}

    async def rejections(self, limit: int) -> list[StoredRejection]:
        """The newest rejected events, newest first."""
        if limit <= 0:
            return []
        cursor = self._live().rejections.find().sort([("received", -1), ("_id", -1)])
        docs = await cursor.limit(limit).to_list(None)
        return [StoredRejection(d["received"], d["index"], d["reason"], d["raw"]) for d in docs]

    async def purge(self, raw_before: int, buckets_before: int) -> None:
        """Finish crashed ingests, then drop raw data of whole buckets before `raw_before` and
        rollups before `buckets_before`."""
        db = self._live()
        await self.recover()
        raw_floor = bucket_of(raw_before)
        await db.events.delete_many({"ts": {"$lt": raw_floor}})
        await db.impressions.delete_many({"bucket": {"$lt": raw_floor}})
        await db.page_views.delete_many({"bucket": {"$lt": raw_floor}})
        await db.rollups.delete_many({"bucket": {"$lt": buckets_before}})
        await db.rejections.delete_many({"received": {"$lt": raw_floor}})
        cursor = db.rejections.find({}, {"received": 1}).sort([("received", -1), ("_id", -1)])
        oldest_kept = await cursor.skip(REJECTIONS_KEPT - 1).limit(1).to_list(None)
        if oldest_kept:
            await db.rejections.delete_many({"received": {"$lt": oldest_kept[0]["received"]}})

    async def save_key(self, key: ApiKey) -> None:
        """Store a new API key (its id and secret hash must be new)."""
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
        cursor = self._live().api_keys.find().sort([("created", 1), ("_id", 1)])
        return [_api_key(doc) for doc in await cursor.to_list(None)]

    async def key_by_hash(self, secret_hash: str) -> ApiKey | None:
        """The key whose secret hashes to `secret_hash`, revoked or not."""
        doc = await self._live().api_keys.find_one({"secret_hash": secret_hash})
        return None if doc is None else _api_key(doc)

    async def revoke_key(self, key_id: str, when: int) -> bool:
        """Mark a key revoked (the first revocation time stays); False when there is none."""
        keys = self._live().api_keys
        await keys.update_one({"_id": key_id, "revoked": None}, {"$set": {"revoked": when}})
        return await keys.find_one({"_id": key_id}, {"_id": 1}) is not None

    async def touch_key(self, key_id: str, when: int) -> None:
        """Record a use of the key; `last_used` only moves forward."""
        newer = {"_id": key_id, "$or": [{"last_used": None}, {"last_used": {"$lt": when}}]}
        await self._live().api_keys.update_one(newer, {"$set": {"last_used": when}})

    def _live(self) -> Any:
        if self._db is None:
            raise StoreUnavailable("the MongoDB store is closed: call `await store.open()` first.")
        return self._db


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
