"""Pure MongoDB builders: documents, write filters and aggregations; no driver imported.

`mongo.py` and `mongo_ingest.py` only run what is built here (Ackee style), so every shape is
tested without a database. Every single-document write's filter carries its collection's
whole shard key (`SHARD_KEYS`), as a sharded cluster requires of upserts and replacements;
`tests/stores/test_mongo_pipelines.py` checks each builder against it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...counting.metrics import ContextRow, RollupRow
from ...counting.ownership import Conflict
from ...counting.rules import ContextKey, ImpressionState, InvalidKey, RollupKey, invalid_reason
from ...edge.untrusted import raw_copy
from ...model import DAY_MS, Counts, Event, Surface

Document = dict[str, Any]
Pipeline = list[Document]
Write = tuple[Document, Document]  # (filter, update or replacement)

ROLLUP_FIELDS = ("served", "viewable", "clicks", "views", "position_sum", "position_count")
CONTEXT_FIELDS = ("served", "viewable", "clicks", "position_sum", "position_count")
DayPair = tuple[str, int]
# The README's shard plan. Rollups are read a gig's range at a time; the rest is written
# evenly by hashed id. `api_keys` and the capped `rejections` stay unsharded (small, or
# capped collections cannot be sharded).
SHARD_KEYS: dict[str, tuple[str, ...]] = {
    "events": ("_id",),
    "impressions": ("_id",),
    "page_views": ("_id",),
    "rollups": ("gig", "bucket"),
    "context_rollups": ("gig", "bucket"),
    "context_days": ("gig", "day"),
    "gigs": ("_id",),
    "invalid_rollups": ("gig", "bucket"),
    "renders": ("_id",),
    "gig_claims": ("_id",),
    "rate_counters": ("_id",),
}

# A rollup row may be split over this many documents ("slots") that readers add up: a batch
# whose transaction lost a write conflict on a hot row retries on another slot, so concurrent
# ingests into one gig's bucket stop colliding on one document.
ROLLUP_SLOTS = 8


def rollup_id(key: RollupKey, slot: int = 0) -> str:
    """The deterministic `_id` of one slot of a rollup row (`|` is in no gig id)."""
    base = f"{key.gig}|{key.bucket}|{key.surface.value}"
    return base if slot == 0 else f"{base}|{slot}"


def rollup_increment(key: RollupKey, counts: Counts, slot: int = 0) -> Write:
    """Upsert adding `counts` to one slot of a rollup row. Never an empty `$inc`."""
    inc = {name: getattr(counts, name) for name in ROLLUP_FIELDS if getattr(counts, name)}
    if not inc:
        raise ValueError(f"nothing to add to rollup {rollup_id(key)}: skip zero deltas")
    return (
        {"_id": rollup_id(key, slot), "gig": key.gig, "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"surface": key.surface.value, "slot": slot}},
    )


def rollup_row(doc: Mapping[str, Any]) -> RollupRow:
    """A stored rollup document (or a group of them) as a `RollupRow`."""
    return RollupRow(
        doc["gig"],
        doc["bucket"],
        Surface(doc["surface"]),
        Counts(*(int(doc.get(name) or 0) for name in ROLLUP_FIELDS)),
    )


def rollups_filter(gigs: Iterable[str], start: int, end: int) -> Document:
    """Rollup documents of these gigs with `start <= bucket < end` (the {gig, bucket} index)."""
    return {"gig": {"$in": sorted(set(gigs))}, "bucket": {"$gte": start, "$lt": end}}


def _sums() -> Document:
    return {name: {"$sum": f"${name}"} for name in ROLLUP_FIELDS}


def rollup_rows(gigs: Iterable[str], start: int, end: int) -> Pipeline:
    """Rollup rows of a window with their slots added up: one result per (gig, bucket, surface)."""
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {"$group": {"_id": {"gig": "$gig", "bucket": "$bucket", "surface": "$surface"},
                    **_sums()}},
    ]


def surface_totals(gigs: Iterable[str], start: int, end: int) -> Pipeline:
    """Rollups summed per (gig, surface) over a window."""
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {"$group": {"_id": {"gig": "$gig", "surface": "$surface"}, **_sums()}},
        {"$sort": {"_id.gig": 1, "_id.surface": 1}},
    ]


def span_start(edges: Sequence[int]) -> Any:
    """Expression: the start of the span `[edges[i], edges[i+1])` holding `$bucket` (the
    caller matches only buckets inside the spans)."""
    starts = [int(edge) for edge in edges[:-1]]
    if len(starts) == 1:
        return starts[0]
    branches = [{"case": {"$gte": ["$bucket", s]}, "then": s} for s in reversed(starts[1:])]
    return {"$switch": {"branches": branches, "default": starts[0]}}


def span_totals(gigs: Iterable[str], edges: Sequence[int]) -> Pipeline:
    """Rollups summed per (gig, span, surface) on the server for the spans
    `[edges[i], edges[i+1])` (days of a window); each result's `bucket` is its span's start."""
    return [
        {"$match": rollups_filter(gigs, edges[0], edges[-1])},
        {"$group": {"_id": {"gig": "$gig", "bucket": span_start(edges), "surface": "$surface"},
                    **_sums()}},
    ]


def gig_totals(
    gigs: Iterable[str], start: int, end: int, click_surfaces: Iterable[Surface]
) -> Pipeline:
    """Rollups summed per gig over a window on the server, clicks only of click surfaces:
    one result per gig (for rankings)."""
    clicking = sorted(s.value for s in click_surfaces)
    sums = _sums()
    sums["clicks"] = {"$sum": {"$cond": [{"$in": ["$surface", clicking]}, "$clicks", 0]}}
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {"$group": {"_id": "$gig", **sums}},
    ]


def gig_total(doc: Mapping[str, Any]) -> tuple[str, Counts]:
    """One `gig_totals` result: the gig and its counters."""
    return doc["_id"], Counts(*(int(doc.get(name) or 0) for name in ROLLUP_FIELDS))


def grouped_row(doc: Mapping[str, Any], bucket: int | None = None) -> RollupRow:
    """One grouped result as a row (its bucket is `bucket` when the group had none)."""
    fields = {**doc, **doc["_id"]}
    if bucket is not None:
        fields["bucket"] = bucket
    return rollup_row(fields)


def context_rollup_id(key: ContextKey) -> str:
    """The deterministic `_id` of a context rollup document (`|` is in no gig id; the
    context, free text, comes last)."""
    return f"{key.gig}|{key.bucket}|{key.surface.value}|{key.context}"


def context_rollup_increment(key: ContextKey, counts: Counts) -> Write:
    """Upsert adding `counts` to a context rollup document. Never an empty `$inc`."""
    inc = {name: getattr(counts, name) for name in CONTEXT_FIELDS if getattr(counts, name)}
    if not inc:
        raise ValueError(f"nothing to add to {context_rollup_id(key)!r}: skip zero deltas")
    return (
        {"_id": context_rollup_id(key), "gig": key.gig, "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"surface": key.surface.value, "context": key.context}},
    )


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


def event_document(event: Event, *, invalid: str | None = None) -> Document:
    """The raw event as stored: what dedupe (`_id`), deletion (gig, seller) and retention
    (ts) need, its type, and why it is invalid traffic when it is (`invalid`: a reason found
    while counting). What it said about its impression or page load is kept once per
    impression, in `impressions` and `page_views` (as on SQLite)."""
    doc: Document = {"_id": event.id, "gig": event.gig, "ts": event.ts, "type": event.type.value}
    if event.seller is not None:
        doc["seller"] = event.seller
    reason = invalid_reason(event, invalid)
    if reason is not None:
        doc["invalid"] = reason
    return doc


def impression_replacement(key: str, gig: str, state: ImpressionState) -> Write:
    """Upserting replacement of one impression's state (decided by `transitions.plan`)."""
    doc: Document = {
        "_id": key,
        "gig": gig,
        "bucket": state.bucket,
        "surface": state.surface.value,
        "viewable": state.viewable,
        "clicked": state.clicked,
        "position": state.position,
        "surface_known": state.surface_known,
        "context": state.context,
    }
    return {"_id": key}, doc


def impression_state(doc: Mapping[str, Any]) -> ImpressionState:
    """A stored impression document as an `ImpressionState`."""
    return ImpressionState(
        bucket=doc["bucket"],
        surface=Surface(doc["surface"]),
        viewable=bool(doc.get("viewable")),
        clicked=bool(doc.get("clicked")),
        position=doc.get("position"),
        surface_known=bool(doc.get("surface_known", True)),
        context=doc.get("context"),
    )


def page_view_document(key: str, bucket: int) -> Document:
    """A counted page load: its existence is what dedupes later `view`s of it."""
    return {"_id": key, "bucket": bucket}


def gig_owner(gig: str, seller: str | None, when: int) -> Write:
    """Upsert of a gig's owner (`ownership.decide` chose it; None: a new gig, no owner)."""
    return {"_id": gig}, {"$set": {"seller": seller, "seller_ts": when}}


def claimants_addition(gig: str, sellers: Sequence[str]) -> Write:
    """Update adding sellers to the ones a gig keeps ownership claims for (bounded by
    `ownership.bound_claims`)."""
    return {"_id": gig}, {"$addToSet": {"claimants": {"$each": list(sellers)}}}


def claim_increment(conflict: Conflict) -> Write:
    """Upsert adding a conflicting ownership claim (kept for the admin, never applied)."""
    return (
        {"_id": f"{conflict.gig}|{conflict.seller}"},
        {
            "$inc": {"events": conflict.events},
            "$min": {"first": conflict.first},
            "$max": {"last": conflict.last},
            "$setOnInsert": {"gig": conflict.gig, "seller": conflict.seller},
        },
    )


def conflict(doc: Mapping[str, Any]) -> Conflict:
    """A stored claim document as a `Conflict`."""
    return Conflict(doc["gig"], doc["seller"], doc["first"], doc["last"], doc["events"])


def render_document(key: str, holder: str, ts: int) -> Document:
    """A signed tile (or page) spent by `holder` (an impression or page-load id); inserted."""
    return {"_id": key, "holder": holder, "ts": ts}


def invalid_increment(key: InvalidKey, events: int) -> Write:
    """Upsert adding invalid events to one (gig, bucket, reason) row. Never an empty `$inc`."""
    gig, bucket, reason = key
    if not events:
        raise ValueError(f"no invalid events to add to {gig}|{bucket}|{reason}")
    return (
        {"_id": f"{gig}|{bucket}|{reason}", "gig": gig, "bucket": bucket},
        {"$inc": {"events": events}, "$setOnInsert": {"reason": reason}},
    )


def invalid_totals(gigs: Iterable[str], start: int, end: int) -> Pipeline:
    """Invalid-traffic rollups summed per (gig, reason) over a window."""
    return [
        {"$match": rollups_filter(gigs, start, end)},
        {"$group": {"_id": {"gig": "$gig", "reason": "$reason"}, "events": {"$sum": "$events"}}},
        {"$sort": {"_id.gig": 1, "_id.reason": 1}},
    ]

# Live updates watch every change to a rollup document, deletions too (data controls, purges),
# and need only the document's key: its `_id` starts with the gig, and on a sharded cluster
# the key also holds `gig` itself.
ROLLUP_CHANGES: Pipeline = [
    {"$match": {"operationType": {"$in": ["insert", "update", "replace", "delete"]}}},
    {"$project": {"operationType": 1, "documentKey": 1}},
]


def changed_gig(change: Mapping[str, Any]) -> str | None:
    """The gig a rollup change event is about (None for events without a document key)."""
    key = change.get("documentKey") or {}
    gig = key.get("gig")
    if isinstance(gig, str):
        return gig
    doc_id = key.get("_id")
    return doc_id.split("|", 1)[0] if isinstance(doc_id, str) else None


def deletion_filters(gigs: Iterable[str], seller: str | None = None) -> dict[str, Document]:
    """`delete_many` filters removing everything of these gigs, by collection, the gig
    records last (so a gig leaves the listings only once its data is gone). With `seller`,
    raw events and rejections naming the seller go too. Multi-document deletes: they need
    no shard key."""
    wanted = sorted(set(gigs))
    by_gig: Document = {"gig": {"$in": wanted}}
    events: Document = by_gig if seller is None else {"$or": [by_gig, {"seller": seller}]}
    # Page loads are keyed `pv \x1f gig` and carry no gig field: matched by their key's end.
    ends = "|".join(re.escape(gig) for gig in wanted)
    needles = [_named("gig", gig) for gig in wanted]
    if seller is not None:
        needles.append(_named("seller", seller))
    return {
        "events": events,
        "impressions": by_gig,
        "page_views": {"_id": {"$regex": f"\x1f(?:{ends})$"}} if wanted else _NOTHING,
        "rollups": by_gig,
        "context_rollups": by_gig,
        "context_days": by_gig,
        "invalid_rollups": by_gig,
        "gig_claims": by_gig if seller is None else {"$or": [by_gig, {"seller": seller}]},
        "rejections": {"raw": {"$regex": "|".join(re.escape(n) for n in needles)}}
        if needles
        else _NOTHING,
        "gigs": {"_id": {"$in": wanted}},
    }


_NOTHING: Document = {"_id": {"$in": []}}


def _named(field: str, value: str) -> str:
    """How a rejected event's kept raw copy spells `"field": "value"`."""
    return raw_copy({field: value})[1:-1]
