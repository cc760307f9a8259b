"""Pure MongoDB builders: documents, write filters and aggregations; no driver imported.

`store.py` and `ingest.py` only run what is built here, so every shape is tested without a
database. Every gig-keyed document carries `p = partition(gig)`, which leads its
collection's shard key (`SHARD_KEYS`): one gig's documents live in one zone of `p` in every
collection, so a batch of one zone's gigs commits on one shard. Every single-document write's
filter carries its collection's whole shard key, as a sharded cluster requires of upserts
and replacements; `tests/stores/test_mongo_pipelines.py` checks each builder against it.

What a batch decides from lives in one collection, `gig_state`, under
`"{p:04d}|{gig}|{kind}|{key}"` (kinds below), so one `find` by `_id` alone loads all of it:
an event id, an impression, a page load, a spent render, the contexts a gig keeps on a day,
and the gig's owner and the sellers it keeps claims for. Its shard key is that `_id`, led by
the partition: a read by `_id`s is routed to the shards of their partitions by the key
itself (and served by the `_id` index on any server), where `{p, _id}` would need `p` in
the query too. So event ids (and render keys) are unique per gig here: an id that
arrives again for another gig is another event (the same event always names the same gig,
so a retry is still a duplicate).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...counting.batch import BatchPlan, Needs, Stored
from ...counting.metrics import ContextRow, RollupRow
from ...counting.ownership import Conflict
from ...counting.rules import ContextKey, ImpressionState, InvalidKey, RollupKey, invalid_reason
from ...counting.splits import SplitKey, SplitRow, Tally
from ...edge.untrusted import raw_copy
from ...model import DAY_MS, PARTITIONS, Counts, Device, Event, Rejection, Surface, partition

Document = dict[str, Any]
Pipeline = list[Document]
Write = tuple[Document, Document]  # (filter, update or replacement)
# One write of a batch as data: (collection, "insert" | "update" | "replace", the document or
# filter, the update or replacement (None for an insert)).
Op = tuple[str, str, Document, Document | None]

ROLLUP_FIELDS = (
    "served", "viewable", "clicks", "views", "position_sum", "position_count", "orders"
)
CONTEXT_FIELDS = ("served", "viewable", "clicks", "position_sum", "position_count", "orders")
SPLIT_FIELDS = ("served", "viewable", "clicks", "orders", "amount")
DayPair = tuple[str, int]

def zone_of(p: int, zones: int) -> int:
    """Which of `zones` equal ranges `[k*PARTITIONS/zones, (k+1)*PARTITIONS/zones)` of
    partitions holds `p`."""
    return p * zones // PARTITIONS


def zone_range(zone: int, zones: int) -> tuple[int, int]:
    """The partitions `[low, high)` of one zone (`zone_of` is `zone` exactly for them)."""
    return -(-zone * PARTITIONS // zones), -(-(zone + 1) * PARTITIONS // zones)


# The README's shard plan: every gig-keyed collection leads with `p`. `api_keys`, `health`,
# `migrations` and the capped `rejections` stay unsharded (small, or capped collections cannot
# be sharded); rate counters are keyed by client, not gig.
SHARD_KEYS: dict[str, tuple[str, ...]] = {
    "gig_state": ("_id",),  # range-sharded: its `_id` starts with `p` (see `state_id`)
    "gigs": ("p", "_id"),
    "rollups": ("p", "gig", "bucket"),
    "context_rollups": ("p", "gig", "bucket"),
    "invalid_rollups": ("p", "gig", "bucket"),
    "split_rollups": ("p", "gig", "bucket"),
    "gig_claims": ("p", "gig"),
    "rate_counters": ("_id",),
}
# Collections sharded by a hash of their key (spread evenly); the rest by ranges of it.
HASHED_SHARD_KEYS = frozenset({"rate_counters"})

# Counter documents (rollups, context rollups, invalid rollups, claims) are split over this
# many slots that readers add up. Each transaction in flight writes its own slot (a process
# leases distinct ones, starting from a random one), so concurrent batches into one gig's
# bucket do not write the same document.
ROLLUP_SLOTS = 16

# Kinds of `gig_state` documents (VARIANTS: the variants a gig keeps on a UTC day).
EVENT, IMPRESSION, PAGE_VIEW, RENDER, CONTEXTS, OWNER = "e", "i", "v", "r", "c", "o"
VARIANTS = "x"
RAW_KINDS = (EVENT, IMPRESSION, PAGE_VIEW, RENDER)  # purged with raw data


def state_id(gig: str, kind: str, key: str = "") -> str:
    """The `_id` of a `gig_state` document: its gig's partition first, four digits, so the
    ids of a zone of partitions are one range of them (`|` is in no gig id)."""
    return f"{partition(gig):04d}|{gig}|{kind}|{key}"


def state_bound(p: int) -> str:
    """The least `gig_state` `_id` of partition `p` (zone ranges of the shard key)."""
    return f"{p:04d}"


def _state(gig: str, kind: str, key: str, t: int) -> Document:
    # `t`: when it may be purged (raw data: its time; kept contexts: their day's start).
    return {"_id": state_id(gig, kind, key), "p": partition(gig), "gig": gig, "k": kind, "t": t}


def _state_filter(gig: str, kind: str, key: str = "") -> Document:
    return {"_id": state_id(gig, kind, key)}


def state_query(events: Sequence[Event], wanted: Needs) -> Document:
    """One `find` of every `gig_state` document a batch decides from: its event ids,
    impressions, page loads, renders, the kept contexts and variants of its days and its
    gigs' owners."""
    ids = {state_id(e.gig, EVENT, e.id) for e in events}
    ids.update(state_id(g, IMPRESSION, k) for k, g in wanted.impressions.items())
    ids.update(state_id(g, PAGE_VIEW, k) for k, g in wanted.page_views.items())
    ids.update(state_id(g, RENDER, k) for k, g in wanted.renders.items())
    ids.update(state_id(g, CONTEXTS, str(day)) for g, day in wanted.context_days)
    ids.update(state_id(g, VARIANTS, str(day)) for g, day in wanted.context_days)
    ids.update(state_id(g, OWNER) for g in wanted.gigs)
    return {"_id": {"$in": sorted(ids)}}


def contexts_query(days: Iterable[DayPair], variant_days: Iterable[DayPair] = ()) -> Document:
    """The kept contexts (and variants) of more (gig, day) pairs (a plan asked for them)."""
    ids = {state_id(g, CONTEXTS, str(day)) for g, day in set(days)}
    ids.update(state_id(g, VARIANTS, str(day)) for g, day in set(variant_days))
    return {"_id": {"$in": sorted(ids)}}


def load_state(docs: Iterable[Mapping[str, Any]], stored: Stored, gigs: Iterable[str]) -> set[str]:
    """Fill `stored` from `gig_state` documents (every gig in `gigs` was asked for: its
    claimants are known); returns the stored events' `_id`s."""
    events: set[str] = set()
    stored.add_claimants((), gigs)
    for doc in docs:
        kind, key = doc["k"], doc["_id"].split("|", 3)[3]
        gig = doc["gig"]
        if kind == EVENT:
            events.add(doc["_id"])
        elif kind == IMPRESSION:
            stored.impressions[key] = impression_state(doc)
        elif kind == PAGE_VIEW:
            stored.page_views.add(key)
        elif kind == RENDER:
            stored.renders[key] = doc["holder"]
        elif kind == CONTEXTS:
            stored.add_contexts(((gig, doc["day"], c) for c in doc["contexts"]),
                                [(gig, doc["day"])])
        elif kind == VARIANTS:
            stored.add_variants(((gig, doc["day"], v) for v in doc["variants"]),
                                [(gig, doc["day"])])
        elif kind == OWNER:
            stored.owners[gig] = (doc.get("seller"), doc.get("seller_ts", 0))
            stored.add_claimants(((gig, s) for s in doc.get("claimants", ())), ())
    return events


def batch_writes(todo: BatchPlan, slot: int) -> list[Op]:
    """Every write of a plan, decision state first, counters (the hot rows) last."""
    ops: list[Op] = [
        ("gig_state", "insert", event_document(e, invalid=reason), None)
        for e, reason in todo.events
    ]
    ops += [("gig_state", "insert", render_document(key, gig, holder, ts), None)
            for key, holder, ts, gig in todo.renders]
    ops += [("gig_state", "insert", page_view_document(key, todo.page_view_gigs[key], bucket),
             None) for key, bucket in todo.page_views.items()]
    ops += [("gig_state", "replace", *impression_replacement(k, todo.impression_gigs[k], s))
            for k, s in todo.impressions.items()]
    admitted: dict[DayPair, list[str]] = {}
    for gig, day, context in sorted(todo.admitted):
        admitted.setdefault((gig, day), []).append(context)
    ops += [("gig_state", "update", *contexts_addition(gig, day, contexts))
            for (gig, day), contexts in admitted.items()]
    variants: dict[DayPair, list[str]] = {}
    for gig, day, variant in sorted(todo.admitted_variants):
        variants.setdefault((gig, day), []).append(variant)
    ops += [("gig_state", "update", *contexts_addition(gig, day, names, VARIANTS))
            for (gig, day), names in variants.items()]
    for gig in sorted(set(todo.owners) | set(todo.claimants)):
        ops.append(("gig_state", "update",
                    *owner_update(gig, todo.owners.get(gig), todo.claimants.get(gig, ()))))
        if gig in todo.owners:
            ops.append(("gigs", "update", *gig_owner(gig, *todo.owners[gig])))
    ops += [("gig_claims", "update", *claim_increment(c, slot)) for c in todo.claims.values()]
    ops += [("invalid_rollups", "update", *invalid_increment(key, n, slot))
            for key, n in todo.invalid.items()]
    ops += [("context_rollups", "update", *context_rollup_increment(k, c, slot))
            for k, c in todo.contexts.items()]
    ops += [("split_rollups", "update", *split_increment(k, t, slot))
            for k, t in todo.splits.items()]
    ops += [("rollups", "update", *rollup_increment(k, c, slot)) for k, c in todo.rollups.items()]
    return ops


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
        {"_id": rollup_id(key, slot), "p": partition(key.gig), "gig": key.gig,
         "bucket": key.bucket},
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


def rollups_filter(gigs: Iterable[str] | None, start: int, end: int) -> Document:
    """Counter documents of these gigs (None: every gig, with no list of them) with
    `start <= bucket < end`, through the {p, gig, bucket} index (and only the shards of
    their partitions)."""
    window = {"$gte": start, "$lt": end}
    if gigs is None:
        return {"bucket": window}
    wanted = sorted(set(gigs))
    if len(wanted) == 1:  # equalities: the index's prefix on any server
        return {"p": partition(wanted[0]), "gig": wanted[0], "bucket": window}
    parts = sorted({partition(g) for g in wanted})
    return {"p": {"$in": parts}, "gig": {"$in": wanted}, "bucket": window}


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
    gigs: Iterable[str] | None, start: int, end: int, click_surfaces: Iterable[Surface]
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


def context_rollup_id(key: ContextKey, slot: int = 0) -> str:
    """The deterministic `_id` of one slot of a context rollup row (`|` is in no gig id;
    the context, free text, comes last; a slot follows the surface after a `#`, which no
    surface holds, so no context can make two rows share an id)."""
    surface = key.surface.value if slot == 0 else f"{key.surface.value}#{slot}"
    return f"{key.gig}|{key.bucket}|{surface}|{key.context}"


def context_rollup_increment(key: ContextKey, counts: Counts, slot: int = 0) -> Write:
    """Upsert adding `counts` to one slot of a context rollup row. Never an empty `$inc`."""
    inc = {name: getattr(counts, name) for name in CONTEXT_FIELDS if getattr(counts, name)}
    if not inc:
        raise ValueError(f"nothing to add to {context_rollup_id(key)!r}: skip zero deltas")
    return (
        {"_id": context_rollup_id(key, slot), "p": partition(key.gig), "gig": key.gig,
         "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"surface": key.surface.value, "context": key.context}},
    )


def contexts_addition(
    gig: str, day: int, contexts: Sequence[str], kind: str = CONTEXTS
) -> Write:
    """Update adding contexts (or, with kind VARIANTS, variants) to the ones a gig keeps on
    one UTC day (one document per gig and day: two batches that admit some both write it,
    so the daily cap holds)."""
    doc = _state(gig, kind, str(day), day * DAY_MS)
    insert = {k: v for k, v in doc.items() if k != "_id"}
    names = "contexts" if kind == CONTEXTS else "variants"
    return (
        _state_filter(gig, kind, str(day)),
        {"$addToSet": {names: {"$each": list(contexts)}},
         "$setOnInsert": {**insert, "day": day}},
    )


def split_increment(key: SplitKey, tally: Tally, slot: int = 0) -> Write:
    """Upsert adding `tally` to one slot of a split rollup row (variant, device or currency;
    the key, free text, last, after a `#`-slotted kind). Never an empty `$inc`."""
    inc = {name: getattr(tally, name) for name in SPLIT_FIELDS if getattr(tally, name)}
    kind = key.kind if slot == 0 else f"{key.kind}#{slot}"
    doc_id = f"{key.gig}|{key.bucket}|{kind}|{key.key}"
    if not inc:
        raise ValueError(f"nothing to add to {doc_id!r}: skip zero deltas")
    return (
        {"_id": doc_id, "p": partition(key.gig), "gig": key.gig, "bucket": key.bucket},
        {"$inc": inc, "$setOnInsert": {"kind": key.kind, "key": key.key}},
    )


def split_totals(gigs: Iterable[str], edges: Sequence[int]) -> Pipeline:
    """Split rollups summed per (gig, span, kind, key) on the server, slots added up, for the
    spans `[edges[i], edges[i+1])`."""
    sums = {name: {"$sum": f"${name}"} for name in SPLIT_FIELDS}
    return [
        {"$match": rollups_filter(gigs, edges[0], edges[-1])},
        {"$group": {"_id": {"gig": "$gig", "start": span_start(edges), "kind": "$kind",
                            "key": "$key"}, **sums}},
    ]


def split_row(doc: Mapping[str, Any]) -> SplitRow:
    """One `split_totals` result as a `SplitRow`."""
    group = doc["_id"]
    return SplitRow(group["gig"], group["start"], group["kind"], group["key"],
                    Tally(*(int(doc.get(name) or 0) for name in SPLIT_FIELDS)))


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
    served, viewable, clicks, position_sum, position_count, orders = (
        int(doc.get(name) or 0) for name in CONTEXT_FIELDS
    )
    return ContextRow(
        group["gig"],
        Surface(group["surface"]),
        group["context"],
        Counts(served, viewable, clicks, 0, position_sum, position_count, orders),
    )


def purge_filters(raw_floor: int, buckets_before: int) -> list[tuple[str, Document]]:
    """`delete_many`s of a purge, as (collection, filter): raw data of whole buckets before
    `raw_floor`, counters before `buckets_before`, kept contexts of whole days before it
    (each through the {k, t} or {bucket} index)."""
    counters: Document = {"bucket": {"$lt": buckets_before}}
    raw = [("gig_state", {"k": kind, "t": {"$lt": raw_floor}}) for kind in RAW_KINDS]
    return [
        *raw,
        ("gig_state", {"k": CONTEXTS, "t": {"$lt": buckets_before // DAY_MS * DAY_MS}}),
        ("gig_state", {"k": VARIANTS, "t": {"$lt": buckets_before // DAY_MS * DAY_MS}}),
        ("rollups", counters),
        ("split_rollups", counters),
        ("context_rollups", counters),
        ("invalid_rollups", counters),
        ("rejections", {"received": {"$lt": raw_floor}}),
    ]


def event_document(event: Event, *, invalid: str | None = None) -> Document:
    """The raw event as stored: its id under its gig (dedupe), the gig and seller (deletion),
    its time (`t`: retention), its type, and why it is invalid traffic when it is (`invalid`:
    a reason found while counting). What it said about its impression or page load is kept
    once per impression (as on SQLite)."""
    doc = _state(event.gig, EVENT, event.id, event.ts)
    doc["type"] = event.type.value
    if event.seller is not None:
        doc["seller"] = event.seller
    reason = invalid_reason(event, invalid)
    if reason is not None:
        doc["invalid"] = reason
    return doc


def impression_replacement(key: str, gig: str, state: ImpressionState) -> Write:
    """Upserting replacement of one impression's state (decided by the batch plan)."""
    doc = _state(gig, IMPRESSION, key, state.bucket)
    doc.update(
        bucket=state.bucket,
        surface=state.surface.value,
        viewable=state.viewable,
        clicked=state.clicked,
        position=state.position,
        surface_known=state.surface_known,
        context=state.context,
        orders=state.orders,
        variant=state.variant,
        device=None if state.device is None else state.device.value,
        awaiting_served=state.awaiting_served,
    )
    return _state_filter(gig, IMPRESSION, key), doc


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
        orders=int(doc.get("orders") or 0),
        variant=doc.get("variant"),
        device=None if doc.get("device") is None else Device(doc["device"]),
        awaiting_served=bool(doc.get("awaiting_served")),
    )


def page_view_document(key: str, gig: str, bucket: int) -> Document:
    """A counted page load: its existence is what dedupes later `view`s of it."""
    return _state(gig, PAGE_VIEW, key, bucket)


def owner_update(gig: str, owner: tuple[str | None, int] | None, claimants: Iterable[str]) -> Write:
    """Upsert of a gig's decision state: its owner (`ownership.decide` chose it; None: kept)
    and sellers added to the ones it keeps claims for (`ownership.bound_claims`)."""
    update: Document = {"$setOnInsert": {"p": partition(gig), "gig": gig, "k": OWNER, "t": 0}}
    if owner is not None:
        update["$set"] = {"seller": owner[0], "seller_ts": owner[1]}
    sellers = list(claimants)
    if sellers:
        update["$addToSet"] = {"claimants": {"$each": sellers}}
    return _state_filter(gig, OWNER), update


def gig_owner(gig: str, seller: str | None, when: int) -> Write:
    """Upsert of a gig's listing record (`gigs`: sellers and their gigs are read from it)."""
    return {"_id": gig, "p": partition(gig)}, {"$set": {"seller": seller, "seller_ts": when}}


def claim_increment(conflict: Conflict, slot: int = 0) -> Write:
    """Upsert adding a conflicting ownership claim to one slot of its row (kept for the
    admin, never applied)."""
    suffix = f"|{slot}" if slot else ""
    return (
        {"_id": f"{conflict.gig}|{conflict.seller}{suffix}", "p": partition(conflict.gig),
         "gig": conflict.gig},
        {
            "$inc": {"events": conflict.events},
            "$min": {"first": conflict.first},
            "$max": {"last": conflict.last},
            "$setOnInsert": {"gig": conflict.gig, "seller": conflict.seller},
        },
    )


def claims_newest(limit: int) -> Pipeline:
    """Claims with their slots added up, the most recent first."""
    return [
        {"$group": {"_id": {"gig": "$gig", "seller": "$seller"}, "events": {"$sum": "$events"},
                    "first": {"$min": "$first"}, "last": {"$max": "$last"}}},
        {"$sort": {"last": -1, "_id.gig": 1, "_id.seller": 1}},
        {"$limit": limit},
    ]


def conflict(doc: Mapping[str, Any]) -> Conflict:
    """A stored (or grouped) claim document as a `Conflict`."""
    group = doc.get("_id")
    fields = {**doc, **group} if isinstance(group, Mapping) else doc
    return Conflict(fields["gig"], fields["seller"], fields["first"], fields["last"],
                    fields["events"])


def render_document(key: str, gig: str, holder: str, ts: int) -> Document:
    """A signed tile (or page) of a gig spent by `holder` (an impression or page-load id);
    inserted: two batches spending it collide."""
    doc = _state(gig, RENDER, key, ts)
    doc["holder"] = holder
    return doc


def invalid_increment(key: InvalidKey, events: int, slot: int = 0) -> Write:
    """Upsert adding invalid events to one slot of a (gig, bucket, reason) row. Never an
    empty `$inc`."""
    gig, bucket, reason = key
    if not events:
        raise ValueError(f"no invalid events to add to {gig}|{bucket}|{reason}")
    suffix = f"|{slot}" if slot else ""
    return (
        {"_id": f"{gig}|{bucket}|{reason}{suffix}", "p": partition(gig), "gig": gig,
         "bucket": bucket},
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


def deletion_filters(
    gigs: Iterable[str], seller: str | None = None
) -> list[tuple[str, str, Document]]:
    """`delete_many`s removing everything of these gigs, as (what `DeletedData` counts them
    as, or "" for nothing, collection, filter), the gig records last (so a gig leaves the
    listings only once its data is gone). With `seller`, raw events, claims and rejections
    naming the seller go too. By gig and partition (the {p, gig} indexes), never by a
    pattern on keys; multi-document deletes need no shard key."""
    wanted = sorted(set(gigs))
    by_gig: Document = {"p": {"$in": sorted({partition(g) for g in wanted})},
                        "gig": {"$in": wanted}}

    def state(kind: str) -> Document:
        return {**by_gig, "k": kind}

    events = state(EVENT)
    claims = by_gig
    if seller is not None:
        events = {"k": EVENT, "$or": [by_gig, {"seller": seller}]}
        claims = {"$or": [by_gig, {"seller": seller}]}
    needles = [_named("gig", gig) for gig in wanted]
    if seller is not None:
        needles.append(_named("seller", seller))
    rejections = (
        {"raw": {"$regex": "|".join(re.escape(n) for n in needles)}} if needles else _NOTHING
    )
    return [
        ("events", "gig_state", events),
        ("impressions", "gig_state", state(IMPRESSION)),
        ("page_views", "gig_state", state(PAGE_VIEW)),
        ("", "gig_state", state(RENDER)),
        ("context_days", "gig_state", state(CONTEXTS)),
        ("variant_days", "gig_state", state(VARIANTS)),
        ("rollups", "rollups", by_gig),
        ("context_rollups", "context_rollups", by_gig),
        ("invalid_rollups", "invalid_rollups", by_gig),
        ("split_rollups", "split_rollups", by_gig),
        ("gig_claims", "gig_claims", claims),
        ("rejections", "rejections", rejections),
        ("", "gig_state", state(OWNER)),
        ("gigs", "gigs", {"p": by_gig["p"], "_id": {"$in": wanted}}),
    ]


def rejection_document(rejection: Rejection) -> Document:
    """A refused event as kept; its `_id` comes from its index and content, so a batch
    written again (a retry) is not logged twice (the first copy keeps its time)."""
    digest = hashlib.sha256(
        f"{rejection.index}\x1f{rejection.reason}\x1f{rejection.raw}".encode()
    ).hexdigest()[:24]
    return {"_id": digest, "received": rejection.received, "index": rejection.index,
            "reason": rejection.reason, "raw": rejection.raw}


_NOTHING: Document = {"_id": {"$in": []}}


def _named(field: str, value: str) -> str:
    """How a rejected event's kept raw copy spells `"field": "value"`."""
    return raw_copy({field: value})[1:-1]
