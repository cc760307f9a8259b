"""What one SQLite group commit writes: dedupe, raw events, transitions, rollups, gigs.

A fixed handful of statements per group, whatever its size (IN lists are chunked), because
this is the hot path. Counting itself is `transitions.plan`; nothing here decides a count.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ...events import Event, EventType, Rejection, Surface
from ...ownership import OTHER_SELLERS, Owner, bound_claims, decide
from ...transitions import (
    DAY_MS,
    ContextDelta,
    ImpressionState,
    bound_contexts,
    bucket_of,
    count_invalid,
    impression_key,
    invalid_delta,
    page_view_key,
    plan,
)
from ..base import REJECTIONS_KEPT, IngestResult

Batch = tuple[Sequence[Event], Sequence[Rejection]]

MAX_PARAMS = 500

# No index on time for purging: with random keys, each one would cost another page written
# per event on this hot path. `SQLiteStore.purge` walks the keys in chunks instead.
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, gig TEXT NOT NULL, type TEXT NOT NULL, ts INTEGER NOT NULL,
    imp TEXT, pv TEXT, surface TEXT, context TEXT, position INTEGER, seller TEXT,
    automated INTEGER NOT NULL
) WITHOUT ROWID;
-- key is transitions.impression_key (imp + gig); bucket doubles as the purge time.
CREATE TABLE IF NOT EXISTS impressions (
    key TEXT PRIMARY KEY, bucket INTEGER NOT NULL, surface TEXT NOT NULL,
    viewable INTEGER NOT NULL, clicked INTEGER NOT NULL, position INTEGER,
    surface_known INTEGER NOT NULL, context TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS page_views (key TEXT PRIMARY KEY, bucket INTEGER NOT NULL)
    WITHOUT ROWID;
-- This primary key is what bounds a query by days x 96 buckets x 5 surfaces, not by events.
CREATE TABLE IF NOT EXISTS rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, surface TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    views INTEGER NOT NULL, position_sum INTEGER NOT NULL, position_count INTEGER NOT NULL,
    PRIMARY KEY (gig, bucket, surface)
) WITHOUT ROWID;
-- Which searches and categories showed a gig: at most transitions.CONTEXTS_PER_DAY contexts
-- per gig and UTC day (context_days remembers which), the rest under context ''.
CREATE TABLE IF NOT EXISTS context_rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, surface TEXT NOT NULL, context TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    position_sum INTEGER NOT NULL, position_count INTEGER NOT NULL,
    PRIMARY KEY (gig, bucket, surface, context)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context_days (
    gig TEXT NOT NULL, day INTEGER NOT NULL, context TEXT NOT NULL,
    PRIMARY KEY (gig, day, context)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gigs (gig TEXT PRIMARY KEY, seller TEXT, seller_ts INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gigs_seller ON gigs (seller);
-- Invalid traffic per gig, 15-minute bucket and reason (server/invalid.py): kept, never
-- counted, always shown.
CREATE TABLE IF NOT EXISTS invalid_rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, reason TEXT NOT NULL, events INTEGER NOT NULL,
    PRIMARY KEY (gig, bucket, reason)
) WITHOUT ROWID;
-- Which impression (or page load) spent each signed tile (or page): `nonce.position`.
CREATE TABLE IF NOT EXISTS renders (key TEXT PRIMARY KEY, holder TEXT NOT NULL,
    ts INTEGER NOT NULL) WITHOUT ROWID;
-- Sellers named for a gig another seller owns: shown to the admin, never applied.
CREATE TABLE IF NOT EXISTS gig_claims (
    gig TEXT NOT NULL, seller TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,
    events INTEGER NOT NULL, PRIMARY KEY (gig, seller)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    sellers TEXT NOT NULL, can_write INTEGER NOT NULL, created INTEGER NOT NULL, revoked INTEGER
);
CREATE TABLE IF NOT EXISTS write_probe (data BLOB);
CREATE TABLE IF NOT EXISTS rejections (
    id INTEGER PRIMARY KEY, received INTEGER NOT NULL, idx INTEGER NOT NULL,
    reason TEXT NOT NULL, raw TEXT NOT NULL
);
"""

INSERT_REJECTION = "INSERT INTO rejections (received, idx, reason, raw) VALUES (?,?,?,?)"
DROP_OLD_REJECTIONS = "DELETE FROM rejections WHERE id <= (SELECT max(id) FROM rejections) - ?"
# Columns in `Event`'s field order, so the NamedTuples bind as they are (their enums are
# str subclasses, stored as their text).
INSERT_EVENT = (
    "INSERT INTO events (id, type, gig, ts, seller, imp, pv, surface, context, position, "
    "automated, sig, invalid) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
UPSERT_INVALID = (
    "INSERT INTO invalid_rollups VALUES (?,?,?,?) ON CONFLICT(gig, bucket, reason) DO UPDATE "
    "SET events=events+excluded.events"
)
UPSERT_CLAIM = (
    "INSERT INTO gig_claims VALUES (?,?,?,?,?) ON CONFLICT(gig, seller) DO UPDATE SET "
    "first=min(first, excluded.first), last=max(last, excluded.last), "
    "events=events+excluded.events"
)
UPSERT_IMPRESSION = (
    "INSERT INTO impressions VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET "
    "surface=excluded.surface, viewable=excluded.viewable, clicked=excluded.clicked, "
    "position=excluded.position, surface_known=excluded.surface_known, "
    "context=excluded.context"
)
UPSERT_CONTEXT_ROLLUP = (
    "INSERT INTO context_rollups VALUES (?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(gig, bucket, surface, context) DO UPDATE "
    "SET served=served+excluded.served, viewable=viewable+excluded.viewable, "
    "clicks=clicks+excluded.clicks, position_sum=position_sum+excluded.position_sum, "
    "position_count=position_count+excluded.position_count"
)
UPSERT_ROLLUP = (
    "INSERT INTO rollups VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(gig, bucket, surface) DO UPDATE "
    "SET served=served+excluded.served, viewable=viewable+excluded.viewable, "
    "clicks=clicks+excluded.clicks, views=views+excluded.views, "
    "position_sum=position_sum+excluded.position_sum, "
    "position_count=position_count+excluded.position_count"
)
# Only gigs that are new or whose owner `ownership.decide` changes are written.
UPSERT_GIG = (
    "INSERT INTO gigs VALUES (?,?,?) ON CONFLICT(gig) DO UPDATE SET "
    "seller=excluded.seller, seller_ts=excluded.seller_ts"
)
ROLLUP_COLUMNS = (
    "gig, bucket, surface, served, viewable, clicks, views, position_sum, position_count"
)


def create_schema(conn: sqlite3.Connection) -> None:
    """Create missing tables, and add columns that files made by older versions lack."""
    conn.executescript(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(impressions)")}
    if "context" not in columns:
        conn.execute("ALTER TABLE impressions ADD COLUMN context TEXT")
    columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    for name in ("sig", "invalid"):
        if name not in columns:
            conn.execute(f"ALTER TABLE events ADD COLUMN {name} TEXT")


def ingest_group(conn: sqlite3.Connection, batches: Sequence[Batch]) -> list[IngestResult]:
    """Store and count every batch of a group inside the caller's transaction."""
    ids = {e.id for events, _ in batches for e in events}
    seen = set(select_column(conn, "SELECT id FROM events WHERE id IN ({marks})", ids))
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
    """Store and count new events; returns the ones `plan` judged invalid (id -> reason)."""
    counted = [e for e in new if not e.automated and e.invalid is None]
    impressions = _load_impressions(
        conn, {impression_key(e) for e in counted if e.type is not EventType.VIEW}
    )
    view_buckets: dict[str, int] = {}
    for event in counted:
        key = page_view_key(event) if event.type is EventType.VIEW else None
        if key is not None:
            view_buckets.setdefault(key, bucket_of(event.ts))
    seen_views = set(
        select_column(conn, "SELECT key FROM page_views WHERE key IN ({marks})", view_buckets)
    )
    known_views = set(seen_views)
    wanted = {e.render for e in counted if e.render is not None}
    sql = "SELECT key, holder FROM renders WHERE key IN ({marks})"
    renders: dict[str, str] = {k: h for k, h in _select_rows(conn, sql, wanted)}
    known_renders = set(renders)
    contexts: ContextDelta = {}
    judged: dict[str, str] = {}
    changed, delta = plan(counted, impressions, seen_views, contexts, renders, judged)
    conn.executemany(INSERT_EVENT, [_event_row(e, judged) for e in new])
    spent_at = {e.render: e.ts for e in reversed(counted) if e.render is not None}
    conn.executemany(
        "INSERT INTO renders VALUES (?,?,?)",
        [(k, renders[k], spent_at[k]) for k in sorted(set(renders) - known_renders)],
    )
    conn.executemany(
        UPSERT_INVALID, [(*key, n) for key, n in invalid_delta(new, judged).items()]
    )
    conn.executemany(
        UPSERT_IMPRESSION,
        [
            (key, s.bucket, s.surface.value, int(s.viewable), int(s.clicked), s.position,
             int(s.surface_known), s.context)
            for key, s in changed.items()
        ],
    )
    if contexts:
        _count_contexts(conn, contexts)
    conn.executemany(
        "INSERT INTO page_views VALUES (?,?)",
        [(key, view_buckets[key]) for key in seen_views - known_views],
    )
    conn.executemany(
        UPSERT_ROLLUP,
        [
            (
                k.gig,
                k.bucket,
                k.surface.value,
                c.served,
                c.viewable,
                c.clicks,
                c.views,
                c.position_sum,
                c.position_count,
            )
            for k, c in delta.items()
        ],
    )
    _own(conn, new)
    return judged


def _event_row(event: Event, judged: dict[str, str]) -> tuple[Any, ...]:
    reason = event.invalid or judged.get(event.id)
    return (*event[:11], event.sig, reason)


def _own(conn: sqlite3.Connection, new: list[Event]) -> None:
    """Owners set by trusted events, and conflicting claims kept (`ownership.decide`)."""
    stored: dict[str, Owner] = {
        gig: (seller, when)
        for gig, seller, when in _select_rows(
            conn, "SELECT gig, seller, seller_ts FROM gigs WHERE gig IN ({marks})",
            {e.gig for e in new},
        )
    }
    owners, conflicts = decide(stored, new)
    conn.executemany(UPSERT_GIG, [(gig, s, when) for gig, (s, when) in owners.items()])
    if not conflicts:
        return
    kept: dict[str, set[str]] = {}
    for gig, seller in _select_rows(
        conn, "SELECT gig, seller FROM gig_claims WHERE gig IN ({marks})",
        {gig for gig, _ in conflicts},
    ):
        if seller != OTHER_SELLERS:
            kept.setdefault(gig, set()).add(seller)
    bounded, _ = bound_claims(conflicts, kept)
    conn.executemany(
        UPSERT_CLAIM,
        [(c.gig, c.seller, c.first, c.last, c.events) for c in bounded.values()],
    )


def _count_contexts(conn: sqlite3.Connection, contexts: ContextDelta) -> None:
    days = sorted({(k.gig, k.bucket // DAY_MS) for k in contexts})
    kept: dict[tuple[str, int], set[str]] = {}
    for gig, day in days:
        rows = conn.execute(
            "SELECT context FROM context_days WHERE gig = ? AND day = ?", (gig, day)
        )
        kept[(gig, day)] = {r[0] for r in rows}
    bounded, admitted = bound_contexts(contexts, kept)
    conn.executemany("INSERT INTO context_days VALUES (?,?,?)", sorted(admitted))
    conn.executemany(
        UPSERT_CONTEXT_ROLLUP,
        [
            (k.gig, k.bucket, k.surface.value, k.context, c.served, c.viewable, c.clicks,
             c.position_sum, c.position_count)
            for k, c in bounded.items()
        ],
    )


def _load_impressions(conn: sqlite3.Connection, keys: set[str]) -> dict[str, ImpressionState]:
    sql = (
        "SELECT key, bucket, surface, viewable, clicked, position, surface_known, context "
        "FROM impressions WHERE key IN ({marks})"
    )
    found: dict[str, ImpressionState] = {}
    for chunk in chunks(list(keys)):
        for key, bucket, surface, viewable, clicked, position, known, context in conn.execute(
            sql.format(marks=",".join("?" * len(chunk))), chunk
        ):
            found[key] = ImpressionState(
                bucket, Surface(surface), bool(viewable), bool(clicked), position, bool(known),
                context,
            )
    return found


def select_column(conn: sqlite3.Connection, sql: str, values: Iterable[str]) -> Iterator[Any]:
    """Run `sql` (with `{marks}`) over chunks of `values`; its first column."""
    for chunk in chunks(list(values)):
        yield from (r[0] for r in conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk))


def _select_rows(
    conn: sqlite3.Connection, sql: str, values: Iterable[str]
) -> Iterator[tuple[Any, ...]]:
    for chunk in chunks(sorted(values)):
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), chunk)


def chunks(values: list[str]) -> Iterator[list[str]]:
    """`values` in slices short enough for one IN list."""
    for i in range(0, len(values), MAX_PARAMS):
        yield values[i : i + MAX_PARAMS]
