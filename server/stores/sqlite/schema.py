"""The SQLite file's tables, and how files made by earlier versions are brought up to date.

`create` is the one entry point: the writer (thread or process) runs it when it opens the
file, before it takes any write. The hourly rollups and their triggers are `hourly.py`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ...model import Device, EventType, Invalid, Surface
from . import hourly

# Raw events keep what dedupe, deletion and retention need: the id, the gig, the time, the
# type (TYPE_CODES), the seller the event named, and why it is invalid traffic (NULL: counted).
# What the event said about its impression or page load is kept, once per impression, in
# `impressions` and `page_views`; a per-event copy of it was half of the file.
# No index on time for purging: with random keys, each one would cost another page written
# per event on this hot path. `maintenance.purge` walks the keys in chunks instead.
EVENTS_TABLE = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, gig TEXT NOT NULL, ts INTEGER NOT NULL, type INTEGER NOT NULL,
    seller TEXT, invalid TEXT
) WITHOUT ROWID;
"""
# key is counting.rules.impression_key (imp + gig); bucket doubles as the purge time; surface is
# a SURFACE_CODES number, device a DEVICE_CODES one (NULL: not known).
IMPRESSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS impressions (
    key TEXT PRIMARY KEY, bucket INTEGER NOT NULL, surface INTEGER NOT NULL,
    viewable INTEGER NOT NULL, clicked INTEGER NOT NULL, position INTEGER,
    surface_known INTEGER NOT NULL, context TEXT, orders INTEGER NOT NULL DEFAULT 0,
    variant TEXT, device INTEGER, awaiting_served INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""
# Columns of layout 3 (orders, variants, devices) that files of layout 2 gain, with defaults:
# (table, column, declaration). Layout 2 impressions had no variant and no known device.
LAYOUT_3_COLUMNS = (
    ("impressions", "orders", "INTEGER NOT NULL DEFAULT 0"),
    ("impressions", "variant", "TEXT"),
    ("impressions", "device", "INTEGER"),
    ("impressions", "awaiting_served", "INTEGER NOT NULL DEFAULT 0"),
    ("rollups", "orders", "INTEGER NOT NULL DEFAULT 0"),
    ("hourly_rollups", "orders", "INTEGER NOT NULL DEFAULT 0"),
    ("context_rollups", "orders", "INTEGER NOT NULL DEFAULT 0"),
)
SCHEMA = EVENTS_TABLE + IMPRESSIONS_TABLE + """
CREATE TABLE IF NOT EXISTS page_views (key TEXT PRIMARY KEY, bucket INTEGER NOT NULL)
    WITHOUT ROWID;
-- This primary key is what bounds a query by days x 96 buckets x 5 surfaces, not by events.
CREATE TABLE IF NOT EXISTS rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, surface TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    views INTEGER NOT NULL, position_sum INTEGER NOT NULL, position_count INTEGER NOT NULL,
    orders INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gig, bucket, surface)
) WITHOUT ROWID;
-- Which searches and categories showed a gig: at most counting.rules.CONTEXTS_PER_DAY contexts
-- per gig and UTC day (context_days remembers which), the rest under context ''.
CREATE TABLE IF NOT EXISTS context_rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, surface TEXT NOT NULL, context TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    position_sum INTEGER NOT NULL, position_count INTEGER NOT NULL,
    orders INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gig, bucket, surface, context)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS context_days (
    gig TEXT NOT NULL, day INTEGER NOT NULL, context TEXT NOT NULL,
    PRIMARY KEY (gig, day, context)
) WITHOUT ROWID;
-- Impressions split by variant and device, and orders' revenue per currency (amount in
-- thousandths): counting/splits.py's rows, kind 'variant', 'device' or 'currency'.
CREATE TABLE IF NOT EXISTS split_rollups (
    gig TEXT NOT NULL, bucket INTEGER NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    orders INTEGER NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (gig, bucket, kind, key)
) WITHOUT ROWID;
-- The variants a gig keeps per UTC day (splits.VARIANTS_PER_DAY), like context_days.
CREATE TABLE IF NOT EXISTS variant_days (
    gig TEXT NOT NULL, day INTEGER NOT NULL, variant TEXT NOT NULL,
    PRIMARY KEY (gig, day, variant)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gigs (gig TEXT PRIMARY KEY, seller TEXT, seller_ts INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS gigs_seller ON gigs (seller);
-- Invalid traffic per gig, 15-minute bucket and reason (`model.Invalid`): kept, never
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
# Columns added to `api_keys` after its first version, each NULL until set.
KEY_COLUMNS_ADDED = ("expires", "last_used")

# Small numbers on disk for the two enums stored once per event or impression.
TYPE_CODES = {t: n for n, t in enumerate(EventType)}
SURFACE_CODES = {s: n for n, s in enumerate(Surface)}
SURFACES = list(Surface)  # SURFACE_CODES read back: a stored number's surface
DEVICE_CODES = {d: n for n, d in enumerate(Device)}
DEVICES = list(Device)
# The version of the layout above; older files are migrated by `create`.
LAYOUT = 3


def create(conn: sqlite3.Connection) -> None:
    """Create missing tables, then bring files made by earlier versions up to date: the
    layout, the API key columns, the hourly rollups (each step one transaction)."""
    conn.executescript(SCHEMA)
    if conn.execute("PRAGMA user_version").fetchone()[0] < 2:
        _in_transaction(conn, _narrow_layout)
    if conn.execute("PRAGMA user_version").fetchone()[0] < LAYOUT:
        _in_transaction(conn, _add_order_columns)
    _in_transaction(conn, _add_key_columns)
    # One transaction, so no ingest lands between the hours' fill and their triggers.
    _in_transaction(conn, hourly.create)


def _in_transaction(
    conn: sqlite3.Connection, step: Callable[[sqlite3.Connection], None]
) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        step(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _narrow_layout(conn: sqlite3.Connection) -> None:
    """Layout 1 (and older) to 2: raw events keep only what they are kept for, and the
    impressions' surface becomes a number. One transaction: all of it or none."""
    impressions = {row[1]: row[2] for row in conn.execute("PRAGMA table_info(impressions)")}
    if impressions["surface"] == "TEXT":  # a TEXT column would keep numbers as text
        context = "context" if "context" in impressions else "NULL"
        cases = " ".join(f"WHEN '{s.value}' THEN {n}" for s, n in SURFACE_CODES.items())
        conn.execute("ALTER TABLE impressions RENAME TO impressions_layout_1")
        conn.execute(IMPRESSIONS_TABLE.strip().rstrip(";"))
        conn.execute(
            "INSERT INTO impressions (key, bucket, surface, viewable, clicked, position, "
            "surface_known, context) SELECT key, bucket, CASE surface {cases} END, viewable, "
            f"clicked, position, surface_known, {context} FROM impressions_layout_1"
            .replace("{cases}", cases)
        )
        conn.execute("DROP TABLE impressions_layout_1")
    events = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    if "imp" in events:  # the wide layout: copy what is kept into the narrow one
        invalid = "invalid" if "invalid" in events else "NULL"
        types = " ".join(f"WHEN '{t.value}' THEN {n}" for t, n in TYPE_CODES.items())
        conn.execute("ALTER TABLE events RENAME TO events_layout_1")
        conn.execute(EVENTS_TABLE.strip().rstrip(";"))  # (executescript would commit)
        conn.execute(
            "INSERT INTO events (id, gig, ts, type, seller, invalid) "
            f"SELECT id, gig, ts, CASE type {types} END, seller, "
            f"COALESCE({invalid}, CASE WHEN automated THEN '{Invalid.DECLARED_AUTOMATION}' END) "
            "FROM events_layout_1"
        )
        conn.execute("DROP TABLE events_layout_1")
    conn.execute("PRAGMA user_version = 2")


def _add_order_columns(conn: sqlite3.Connection) -> None:
    """Layout 2 to 3: orders on impressions and every rollup, an impression's variant and
    device. The hourly triggers are made again (`hourly.create`) to carry orders too."""
    for table, column, declaration in LAYOUT_3_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if have and column not in have:  # (no hourly table yet: `hourly.create` makes it)
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    for trigger in hourly.TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute(f"PRAGMA user_version = {LAYOUT}")


def _add_key_columns(conn: sqlite3.Connection) -> None:
    """API keys of files made before keys could expire or record their last use."""
    have = {row[1] for row in conn.execute("PRAGMA table_info(api_keys)")}
    for column in KEY_COLUMNS_ADDED:
        if column not in have:
            conn.execute(f"ALTER TABLE api_keys ADD COLUMN {column} INTEGER")
