"""Pure MongoDB builders: documents, update pipelines and aggregations; no driver imported.

`mongo.py` only runs what is built here (Ackee style), so every query shape is tested
without a database. Only stages mongomock also runs are used ($match $group $project $sort
$facet $unwind $count, and $set in update pipelines).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..events import Event, EventType, Surface
from ..metrics import ContextRow, RollupRow
from ..transitions import (
    DAY_MS,
    ContextKey,
    Counts,
    ImpressionState,
    RollupKey,
    bucket_of,
    latest_sellers,
    page_view_key,
)

Document = dict[str, Any]
Pipeline = list[Document]
BucketPair = tuple[str, int]

ROLLUP_FIELDS = ("served", "viewable", "clicks", "views", "position_sum", "position_count")
CONTEXT_FIELDS = ("served", "viewable", "clicks", "position_sum", "position_count")
DayPair = tuple[str, int]
_EVENT_FIELDS = ("gig", "ts", "seller", "imp", "pv", "context", "position")


def rollup_id(key: RollupKey) -> str:
    """The deterministic `_id` of a rollup document (`|` is in no gig id)."""
    return f"{key.gig}|{key.bucket}|{key.surface.value}"


def rollup_increment(key: RollupKey, counts: Counts) -> Document:
    """Update adding `counts` to a rollup document, creating it when missing."""
    inc = {name: getattr(counts, name) for name in ROLLUP_FIELDS if getattr(counts, name)}
    return {
        "$inc": inc,
        "$setOnInsert": {"gig": key.gig, "bucket": key.bucket, "surface": key.surface.value},
    }


def rollup_document(key: RollupKey, counts: Counts) -> Document:
    """A whole rollup document (for replacing a recomputed row)."""
    doc: Document = {
        "_id": rollup_id(key),
        "gig": key.gig,
        "bucket": key.bucket,
        "surface": key.surface.value,
    }
    doc.update({name: getattr(counts, name) for name in ROLLUP_FIELDS})
    return doc


def rollup_row(doc: Mapping[str, Any]) -> RollupRow:
    """A stored rollup document as a `RollupRow`."""
    return RollupRow(
        doc["gig"],
        doc["bucket"],
        Surface(doc["surface"]),
        Counts(*(int(doc.get(name) or 0) for name in ROLLUP_FIELDS)),
    )


def rollups_filter(gigs: Iterable[str], start: int, end: int) -> Document:
    """Rollup documents of these gigs with `start <= bucket < end` (the {gig, bucket} index)."""
    return {"gig": {"$in": sorted(set(gigs))}, "bucket": {"$gte": start, "$lt": end}}


def surface_totals(gigs: Iterable[str], start: int, end: int) -> Pipeline:
    """Rollups summed per (gig, surface) over a window."""
    sums = {name: {"$sum": f"${name}"} for name in ROLLUP_FIELDS}
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {"$group": {"_id": {"gig": "$gig", "surface": "$surface"}, **sums}},
        {"$sort": {"_id.gig": 1, "_id.surface": 1}},
    ]


def surface_total_row(doc: Mapping[str, Any], start: int) -> RollupRow:
    """One `surface_totals` result as a row whose bucket is the window's start."""
    return rollup_row({**doc, **doc["_id"], "bucket": start})


def context_rollup_id(key: ContextKey) -> str:
    """The deterministic `_id` of a context rollup document (`|` is in no gig id; the
    context, free text, comes last)."""
    return f"{key.gig}|{key.bucket}|{key.surface.value}|{key.context}"


def context_rollup_increment(key: ContextKey, counts: Counts) -> Document:
    """Update adding `counts` to a context rollup document, creating it when missing."""
    inc = {name: getattr(counts, name) for name in CONTEXT_FIELDS if getattr(counts, name)}
    return {
        "$inc": inc,
        "$setOnInsert": {
            "gig": key.gig,
            "bucket": key.bucket,
            "surface": key.surface.value,
            "context": key.context,
        },
    }


def context_days_filter(pairs: Iterable[DayPair]) -> Document:
    """`context_days` documents of these (gig, UTC day) pairs: the contexts each keeps."""
    return {"$or": [{"gig": gig, "day": day} for gig, day in sorted(set(pairs))]}


def context_day_document(gig: str, day: int, context: str) -> Document:
    """One context a gig keeps on one UTC day (insert; a duplicate `_id` means it is kept)."""
    return {"_id": f"{gig}|{day}|{context}", "gig": gig, "day": day, "context": context}


def kept_contexts(docs: Iterable[Mapping[str, Any]]) -> dict[DayPair, set[str]]:
    """`context_days` documents as the `kept` argument of `transitions.bound_contexts`."""
    kept: dict[DayPair, set[str]] = {}
    for doc in docs:
        kept.setdefault((doc["gig"], doc["day"]), set()).add(doc["context"])
    return kept


def context_totals(gigs: Iterable[str], start: int, end: int) -> Pipeline:
    """Context rollups summed per (gig, surface, context) over a window."""
    sums = {name: {"$sum": f"${name}"} for name in CONTEXT_FIELDS}
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {
            "$group": {
                "_id": {"gig": "$gig", "surface": "$surface", "context": "$context"},
                **sums,
            }
        },
    ]


def context_row(doc: Mapping[str, Any]) -> ContextRow:
    """One `context_totals` result as a `ContextRow`."""
    group = doc["_id"]
    served, viewable, clicks, position_sum, position_count = (
        int(doc.get(name) or 0) for name in CONTEXT_FIELDS
    )
    return ContextRow(
        group["gig"],
        Surface(group["surface"]),
        group["context"],
        Counts(served, viewable, clicks, 0, position_sum, position_count),
    )


def context_days_before(bucket: int) -> Document:
    """`context_days` documents of whole UTC days before `bucket` (for purging)."""
    return {"day": {"$lt": bucket // DAY_MS}}


def event_document(event: Event, *, received: int, applied: bool) -> Document:
    """The raw event as stored; `applied` turns true once its counts are in the rollups."""
    doc: Document = {"_id": event.id, "type": event.type.value}
    for name in _EVENT_FIELDS:
        value = getattr(event, name)
        if value is not None:
            doc[name] = value
    if event.surface is not None:
        doc["surface"] = event.surface.value
    doc.update(automated=event.automated, applied=applied, received=received)
    return doc


def event_of(doc: Mapping[str, Any]) -> Event:
    """A stored raw event back as an `Event`."""
    surface = doc.get("surface")
    return Event(
        id=doc["_id"],
        type=EventType(doc["type"]),
        gig=doc["gig"],
        ts=doc["ts"],
        seller=doc.get("seller"),
        imp=doc.get("imp"),
        pv=doc.get("pv"),
        surface=None if surface is None else Surface(surface),
        context=doc.get("context"),
        position=doc.get("position"),
        automated=bool(doc.get("automated", False)),
    )


def unapplied_events(received_before: int) -> Document:
    """Counted events whose ingest stopped before they reached the rollups."""
    return {"applied": False, "automated": False, "received": {"$lte": received_before}}


def impression_update(event: Event) -> Pipeline:
    """Update pipeline applying `event` to its impression atomically; first value wins.

    Run with upsert and `ReturnDocument.BEFORE`: the document before this call tells exactly
    which transitions this call made, even with other servers updating the same impression.
    The one value that may change later is a surface no event had named yet (`other` until
    then; see `transitions`).
    """
    surface = (event.surface or Surface.OTHER).value
    viewable = event.type in (EventType.VIEWABLE, EventType.CLICK)
    clicked = event.type is EventType.CLICK
    named = event.surface is not None
    unknown_yet = {"$eq": [{"$ifNull": ["$surface_known", True]}, False]}
    first = {
        "gig": _first("gig", event.gig),
        "bucket": _first("bucket", bucket_of(event.ts)),
        "surface": (
            {"$cond": [unknown_yet, {"$literal": surface}, _first("surface", surface)]}
            if named
            else _first("surface", surface)
        ),
        "surface_known": {"$or": [{"$ifNull": ["$surface_known", False]}, {"$literal": named}]},
        "position": _first("position", event.position),
        "viewable": {"$or": [{"$ifNull": ["$viewable", False]}, {"$literal": viewable}]},
        "clicked": {"$or": [{"$ifNull": ["$clicked", False]}, {"$literal": clicked}]},
    }
    if event.context is not None:
        first["context"] = _first("context", event.context)
    return [{"$set": first}]


def impression_state(doc: Mapping[str, Any] | None) -> ImpressionState | None:
    """A stored impression document as an `ImpressionState` (None for no document)."""
    if doc is None:
        return None
    return ImpressionState(
        bucket=doc["bucket"],
        surface=Surface(doc["surface"]),
        viewable=bool(doc.get("viewable")),
        clicked=bool(doc.get("clicked")),
        position=doc.get("position"),
        surface_known=bool(doc.get("surface_known", True)),
        context=doc.get("context"),
    )


def page_view_id(event: Event) -> str:
    """The page-view document of a `view`: its page load, or the event itself without `pv`."""
    key = page_view_key(event)
    return key if key is not None else f"!{event.id}\x1f{event.gig}"  # "!" is in no pv


def page_view_insert(event: Event) -> Document:
    """Upsert update recording where a first-seen view is counted (first writer wins)."""
    surface = (event.surface or Surface.OTHER).value
    return {"$setOnInsert": {"gig": event.gig, "bucket": bucket_of(event.ts), "surface": surface}}


def gig_updates(events: Iterable[Event]) -> list[tuple[str, Pipeline]]:
    """One update per gig seen: its seller changes only to a newer event's other seller.

    The same rule as the SQLite store: a gig's row records the seller and when it was named.
    """
    updates = []
    for gig, (seller, when) in latest_sellers(events).items():
        if seller is None:
            stage = {"seller_ts": {"$ifNull": ["$seller_ts", when]}}
        else:
            unknown = {"$eq": [{"$ifNull": ["$seller", None]}, None]}
            other_and_newer = {
                "$and": [{"$ne": ["$seller", seller]}, {"$gte": [when, "$seller_ts"]}]
            }
            change = {"$or": [unknown, other_and_newer]}
            stage = {
                "seller": {"$cond": [change, {"$literal": seller}, "$seller"]},
                "seller_ts": {"$cond": [change, when, "$seller_ts"]},
            }
        updates.append((gig, [{"$set": stage}]))
    return updates


def match_buckets(pairs: Iterable[BucketPair]) -> Document:
    """Documents of any of these (gig, bucket) pairs."""
    return {"$or": [{"gig": gig, "bucket": bucket} for gig, bucket in sorted(set(pairs))]}


def impression_counts(pairs: Iterable[BucketPair]) -> Pipeline:
    """Served, viewable and position counters per (gig, bucket, surface) from impressions."""
    has_position = {"$ne": [{"$ifNull": ["$position", None]}, None]}
    return [
        {"$match": match_buckets(pairs)},
        {
            "$group": {
                "_id": {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"},
                "served": {"$sum": 1},
                "viewable": {"$sum": {"$cond": [{"$eq": ["$viewable", True]}, 1, 0]}},
                "position_sum": {"$sum": {"$ifNull": ["$position", 0]}},
                "position_count": {"$sum": {"$cond": [has_position, 1, 0]}},
            }
        },
    ]


def click_counts(pairs: Iterable[BucketPair]) -> Pipeline:
    """Clicks per (gig, bucket, surface) from impressions: a click is filed under the surface
    its tile was shown on (`transitions`)."""
    return [
        {"$match": {**match_buckets(pairs), "clicked": True}},
        {
            "$group": {
                "_id": {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"},
                "clicks": {"$sum": 1},
            }
        },
    ]


def view_counts(pairs: Iterable[BucketPair]) -> Pipeline:
    """Views per (gig, bucket, surface) from page views."""
    return [
        {"$match": match_buckets(pairs)},
        {
            "$group": {
                "_id": {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"},
                "views": {"$sum": 1},
            }
        },
    ]


def recomputed_rollups(*results: Iterable[Mapping[str, Any]]) -> dict[RollupKey, Counts]:
    """Merge the groups of `impression_counts`, `click_counts` and `view_counts` into rows."""
    rows: dict[RollupKey, Counts] = {}
    for result in results:
        for doc in result:
            group = doc["_id"]
            key = RollupKey(group["gig"], group["bucket"], Surface(group["surface"]))
            counts = rows.setdefault(key, Counts())
            for name in ROLLUP_FIELDS:
                setattr(counts, name, getattr(counts, name) + int(doc.get(name, 0)))
    return rows


def _first(name: str, value: Any) -> Document:
    return {"$ifNull": [f"${name}", {"$literal": value}]}
