"""What one SQLite group commit writes: dedupe, raw events, impressions, rollups, gigs.

A fixed handful of statements per group, whatever its size, because this is the hot path:
each write is one multi-row VALUES statement (per 512 rows), and each read returns its rows
as one JSON array (`json_group_array`). So the writer thread gives up Python's GIL once per
statement, not once per row: per-row steps (`executemany`, fetching row by row) made it wait
behind the busy event loop for every row, a GIL convoy that cost more than the writing.
Counting itself is `counting/batch.py`'s plan; nothing here decides a count.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from ...counting.batch import Needs, Stored, needs, plan_batch
from ...counting.rules import ImpressionState, count_invalid
from ...model import Event, Rejection
from ..base import REJECTIONS_KEPT, IngestResult
from .schema import DEVICE_CODES, DEVICES, SURFACE_CODES, SURFACES, TYPE_CODES

Batch = tuple[Sequence[Event], Sequence[Rejection]]

INSERT_REJECTION = "INSERT INTO rejections (received, idx, reason, raw) VALUES (?,?,?,?)"
DROP_OLD_REJECTIONS = "DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - ?"


# Writes: `_write` runs each over all its rows as multi-row VALUES statements.
INSERT_EVENTS = "INSERT INTO events (id, gig, ts, type, seller, invalid)"
INSERT_RENDERS = "INSERT INTO renders (key, holder, ts)"
INSERT_PAGE_VIEWS = "INSERT INTO page_views (key, bucket)"
INSERT_CONTEXT_DAYS = "INSERT INTO context_days (gig, day, context)"
INSERT_VARIANT_DAYS = "INSERT INTO variant_days (gig, day, variant)"
INSERT_SPLITS = (
    "INSERT INTO split_rollups "
    "(gig, bucket, kind, key, served, viewable, clicks, orders, amount)"
)
ADD_SPLITS = (
    "ON CONFLICT(gig, bucket, kind, key) DO UPDATE "
    "SET served=served+excluded.served, viewable=viewable+excluded.viewable, "
    "clicks=clicks+excluded.clicks, orders=orders+excluded.orders, "
    "amount=amount+excluded.amount"
)
INSERT_INVALID = "INSERT INTO invalid_rollups (gig, bucket, reason, events)"
ADD_INVALID = "ON CONFLICT(gig, bucket, reason) DO UPDATE SET events=events+excluded.events"
INSERT_CLAIMS = "INSERT INTO gig_claims (gig, seller, first, last, events)"
ADD_CLAIMS = (
    "ON CONFLICT(gig, seller) DO UPDATE SET "
    "first=min(first, excluded.first), last=max(last, excluded.last), "
    "events=events+excluded.events"
)
INSERT_IMPRESSIONS = (
    "INSERT INTO impressions "
    "(key, bucket, surface, viewable, clicked, position, surface_known, context, orders, "
    "variant, device, awaiting_served)"
)
REPLACE_IMPRESSIONS = (
    "ON CONFLICT(key) DO UPDATE SET "
    "surface=excluded.surface, viewable=excluded.viewable, clicked=excluded.clicked, "
    "position=excluded.position, surface_known=excluded.surface_known, "
    "context=excluded.context, orders=excluded.orders, variant=excluded.variant, "
    "device=excluded.device, awaiting_served=excluded.awaiting_served"
)
INSERT_CONTEXT_ROLLUPS = (
    "INSERT INTO context_rollups "
    "(gig, bucket, surface, context, served, viewable, clicks, position_sum, position_count, "
    "orders)"
)
ADD_CONTEXT_ROLLUPS = (
    "ON CONFLICT(gig, bucket, surface, context) DO UPDATE "
    "SET served=served+excluded.served, viewable=viewable+excluded.viewable, "
    "clicks=clicks+excluded.clicks, position_sum=position_sum+excluded.position_sum, "
    "position_count=position_count+excluded.position_count, orders=orders+excluded.orders"
)
ROLLUP_COLUMNS = (
    "gig, bucket, surface, served, viewable, clicks, views, position_sum, position_count, "
    "orders"
)
INSERT_ROLLUPS = f"INSERT INTO rollups ({ROLLUP_COLUMNS})"
ADD_ROLLUPS = (
    "ON CONFLICT(gig, bucket, surface) DO UPDATE "
    "SET served=served+excluded.served, viewable=viewable+excluded.viewable, "
    "clicks=clicks+excluded.clicks, views=views+excluded.views, "
    "position_sum=position_sum+excluded.position_sum, "
    "position_count=position_count+excluded.position_count, orders=orders+excluded.orders"
)
# Only gigs that are new or whose owner `ownership.decide` changes are written.
INSERT_GIGS = "INSERT INTO gigs (gig, seller, seller_ts)"
SET_OWNERS = "ON CONFLICT(gig) DO UPDATE SET seller=excluded.seller, seller_ts=excluded.seller_ts"

# Reads: `_read` fills `{marks}` with the keys and decodes the one JSON array row.
STORED_IDS = "SELECT json_group_array(id) FROM events WHERE id IN ({marks})"
STORED_IMPRESSIONS = (
    "SELECT json_group_array(json_array(key, bucket, surface, viewable, clicked, position, "
    "surface_known, context, orders, variant, device, awaiting_served)) FROM impressions "
    "WHERE key IN ({marks})"
)
STORED_PAGE_VIEWS = "SELECT json_group_array(key) FROM page_views WHERE key IN ({marks})"
STORED_RENDERS = (
    "SELECT json_group_array(json_array(key, holder)) FROM renders WHERE key IN ({marks})"
)
STORED_OWNERS = (
    "SELECT json_group_array(json_array(gig, seller, seller_ts)) FROM gigs "
    "WHERE gig IN ({marks})"
)
STORED_CLAIMANTS = (
    "SELECT json_group_array(json_array(gig, seller)) FROM gig_claims WHERE gig IN ({marks})"
)
# Gigs x days: a superset of the (gig, day) pairs wanted, each one primary-key range
# (a row-value IN list would scan the table).
KEPT_CONTEXTS = (
    "SELECT json_group_array(json_array(gig, day, context)) FROM context_days "
    "WHERE gig IN ({marks}) AND day IN ({days})"
)
KEPT_VARIANTS = (
    "SELECT json_group_array(json_array(gig, day, variant)) FROM variant_days "
    "WHERE gig IN ({marks}) AND day IN ({days})"
)


def ingest_group(conn: sqlite3.Connection, batches: Sequence[Batch]) -> list[IngestResult]:
    """Store and count every batch of a group inside the caller's transaction."""
    ids = {e.id for events, _ in batches for e in events}
    seen = set(_read(conn, STORED_IDS, ids))
    new: list[Event] = []
    new_of_batch: list[list[Event]] = []
    for events, _ in batches:
        fresh = []
        for event in events:
            if event.id not in seen:  # also catches the same id twice in this group
                seen.add(event.id)
                fresh.append(event)
        new += fresh
        new_of_batch.append(fresh)
    rejections = [(r.received, r.index, r.reason, r.raw) for _, batch in batches for r in batch]
    if rejections:
        conn.executemany(INSERT_REJECTION, rejections)
        # The cap holds at every commit: ids grow by one per row, so this drops the oldest.
        conn.execute(DROP_OLD_REJECTIONS, (REJECTIONS_KEPT,))
    judged = _count(conn, new) if new else {}
    return [
        IngestResult(len(fresh), len(events) - len(fresh), count_invalid(fresh, judged))
        for fresh, (events, _) in zip(new_of_batch, batches, strict=True)
    ]


def _count(conn: sqlite3.Connection, new: list[Event]) -> dict[str, str]:
    """Store and count new events as `batch.plan_batch` plans them; returns the ones it
    judged invalid (id -> reason)."""
    wanted = needs(new)
    stored = Stored(
        impressions=_load_impressions(conn, set(wanted.impressions)),
        page_views=set(_read(conn, STORED_PAGE_VIEWS, wanted.page_views)),
        renders=dict(_read(conn, STORED_RENDERS, wanted.renders)),
        owners={gig: (seller, when)
                for gig, seller, when in _read(conn, STORED_OWNERS, wanted.gigs)},
    )
    # Kept contexts and claimants are read only when the plan asks: most groups need neither.
    todo = plan_batch(new, stored)
    if todo.more:
        _load_more(conn, stored, todo.more)
        todo = plan_batch(new, stored)
    _write(conn, INSERT_EVENTS, [
        (e.id, e.gig, e.ts, TYPE_CODES[e.type], e.seller, reason) for e, reason in todo.events
    ])
    _write(conn, INSERT_RENDERS, [(key, holder, ts) for key, holder, ts, _ in todo.renders])
    _write(conn, INSERT_INVALID, [(*key, n) for key, n in todo.invalid.items()], ADD_INVALID)
    codes, devices = SURFACE_CODES, DEVICE_CODES
    _write(conn, INSERT_IMPRESSIONS, [
        (key, s.bucket, codes[s.surface], int(s.viewable), int(s.clicked), s.position,
         int(s.surface_known), s.context, s.orders, s.variant,
         None if s.device is None else devices[s.device], int(s.awaiting_served))
        for key, s in todo.impressions.items()
    ], REPLACE_IMPRESSIONS)
    _write(conn, INSERT_CONTEXT_DAYS, sorted(todo.admitted))
    _write(conn, INSERT_CONTEXT_ROLLUPS, [
        (k.gig, k.bucket, k.surface.value, k.context, c.served, c.viewable, c.clicks,
         c.position_sum, c.position_count, c.orders)
        for k, c in todo.contexts.items()
    ], ADD_CONTEXT_ROLLUPS)
    _write(conn, INSERT_VARIANT_DAYS, sorted(todo.admitted_variants))
    _write(conn, INSERT_SPLITS, [
        (*k, t.served, t.viewable, t.clicks, t.orders, t.amount) for k, t in todo.splits.items()
    ], ADD_SPLITS)
    _write(conn, INSERT_PAGE_VIEWS, list(todo.page_views.items()))
    _write(conn, INSERT_ROLLUPS, [
        (k.gig, k.bucket, k.surface.value, c.served, c.viewable, c.clicks, c.views,
         c.position_sum, c.position_count, c.orders)
        for k, c in todo.rollups.items()
    ], ADD_ROLLUPS)
    _write(conn, INSERT_GIGS, [(gig, s, when) for gig, (s, when) in todo.owners.items()],
           SET_OWNERS)
    _write(conn, INSERT_CLAIMS,
           [(c.gig, c.seller, c.first, c.last, c.events) for c in todo.claims.values()],
           ADD_CLAIMS)
    return todo.judged


def _load_more(conn: sqlite3.Connection, stored: Stored, more: Needs) -> None:
    """Read the kept contexts and claimants a plan asked for into `stored`."""
    if more.context_days:
        days = sorted({day for _, day in more.context_days})
        sql = KEPT_CONTEXTS.replace("{days}", ",".join(map(str, days)))
        rows = _read(conn, sql, {gig for gig, _ in more.context_days})
        stored.add_contexts([r for r in rows if (r[0], r[1]) in more.context_days],
                            more.context_days)
    if more.variant_days:
        days = sorted({day for _, day in more.variant_days})
        sql = KEPT_VARIANTS.replace("{days}", ",".join(map(str, days)))
        rows = _read(conn, sql, {gig for gig, _ in more.variant_days})
        stored.add_variants([r for r in rows if (r[0], r[1]) in more.variant_days],
                            more.variant_days)
    if more.claimants:
        stored.add_claimants(_read(conn, STORED_CLAIMANTS, more.claimants), more.claimants)


def _load_impressions(conn: sqlite3.Connection, keys: set[str]) -> dict[str, ImpressionState]:
    surfaces, devices = SURFACES, DEVICES
    return {
        key: ImpressionState(bucket, surfaces[surface], bool(viewable), bool(clicked), position,
                             bool(known), context, orders, variant,
                             None if device is None else devices[device], bool(awaiting))
        for (key, bucket, surface, viewable, clicked, position, known, context, orders, variant,
             device, awaiting) in _read(conn, STORED_IMPRESSIONS, keys)
    }


def _read(conn: sqlite3.Connection, sql: str, keys: Iterable[Any]) -> list[Any]:
    """The rows `sql` finds for `keys` (its `{marks}`): one statement and one step per
    chunk. IN lists are padded (with the last key again) to a power of two, so a handful of
    statement texts serve every size, each prepared once."""
    wanted = sorted(keys)
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK_ROWS):
        chunk = wanted[start : start + CHUNK_ROWS]
        size = 1 << (len(chunk) - 1).bit_length()
        chunk += chunk[-1:] * (size - len(chunk))
        statement = _padded(sql, size)
        found += orjson.loads(conn.execute(statement, chunk).fetchone()[0])
    return found


def _write(
    conn: sqlite3.Connection, insert: str, rows: Sequence[Sequence[Any]], conflict: str = ""
) -> None:
    """`insert` (with its ON CONFLICT clause) over every row: multi-row VALUES statements of
    power-of-two sizes, so a handful of statement texts serve every size, each one step."""
    start = 0
    while start < len(rows):
        size = min(CHUNK_ROWS, 1 << ((len(rows) - start).bit_length() - 1))
        chunk = rows[start : start + size]
        conn.execute(_values(insert, len(chunk[0]), size, conflict),
                     [value for row in chunk for value in row])
        start += size


# Rows per statement, at most (IN keys, or VALUES rows).
CHUNK_ROWS = 512


@functools.lru_cache(maxsize=256)
def _padded(sql: str, size: int) -> str:
    return sql.replace("{marks}", ",".join("?" * size))


@functools.lru_cache(maxsize=256)
def _values(insert: str, width: int, rows: int, conflict: str) -> str:
    row = "(" + ",".join("?" * width) + ")"
    return f"{insert} VALUES {','.join([row] * rows)} {conflict}"

