"""Hourly rollups beside the 15-minute ones, and the reads that use them.

A 30-day answer for a busy gig summed about 8,600 fifteen-minute rows. `hourly_rollups`
holds the same counters per (gig, UTC hour, surface), so a span reads its whole hours there
and only the quarter-hours at its ends (a local midnight of +05:30 or +05:45 is not an hour
edge) from `rollups`: a day is at most 24 hourly rows and 6 quarter-hour rows per surface.

The hourly table is kept by triggers on `rollups`: every insert, update and delete of a
rollup row moves its hour by the same amount, in the same statement and so in the same
transaction (the writer's group commit, a data deletion, a purge). The ingest code does not
know the table exists, and the hours always equal the sum of their quarters. A file made
before this table existed is filled from its rollups when it is opened.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Sequence

HOUR_MS = 3_600_000

_COUNTS = (
    "served", "viewable", "clicks", "views", "position_sum", "position_count", "orders"
)
TRIGGERS = ("rollups_to_hours_insert", "rollups_to_hours_update", "rollups_to_hours_delete")
_HOUR_OF = f"NEW.bucket - NEW.bucket % {HOUR_MS}"
_ADD = ", ".join(f"{c}={c}+excluded.{c}" for c in _COUNTS)
_UPSERT = (
    f"INSERT INTO hourly_rollups (gig, hour, surface, {', '.join(_COUNTS)}) "
    "VALUES (NEW.gig, {hour}, NEW.surface, {values}) "
    f"ON CONFLICT(gig, hour, surface) DO UPDATE SET {_ADD};"
)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS hourly_rollups (
    gig TEXT NOT NULL, hour INTEGER NOT NULL, surface TEXT NOT NULL,
    served INTEGER NOT NULL, viewable INTEGER NOT NULL, clicks INTEGER NOT NULL,
    views INTEGER NOT NULL, position_sum INTEGER NOT NULL, position_count INTEGER NOT NULL,
    orders INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gig, hour, surface)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS rollups_to_hours_insert AFTER INSERT ON rollups BEGIN
    {_UPSERT.format(hour=_HOUR_OF, values=", ".join(f"NEW.{c}" for c in _COUNTS))}
END;
-- Rollup rows never change key (upserts add to counters), and their hour row exists since
-- their insert: an update adds the difference in place (cheaper than another upsert).
CREATE TRIGGER IF NOT EXISTS rollups_to_hours_update AFTER UPDATE ON rollups BEGIN
    UPDATE hourly_rollups SET {", ".join(f"{c}={c}+NEW.{c}-OLD.{c}" for c in _COUNTS)}
    WHERE gig = NEW.gig AND hour = {_HOUR_OF} AND surface = NEW.surface;
END;
CREATE TRIGGER IF NOT EXISTS rollups_to_hours_delete AFTER DELETE ON rollups BEGIN
    UPDATE hourly_rollups SET {", ".join(f"{c}={c}-OLD.{c}" for c in _COUNTS)}
    WHERE gig = OLD.gig AND hour = OLD.bucket - OLD.bucket % {HOUR_MS}
    AND surface = OLD.surface;
END;
"""

_BACKFILL = (
    f"INSERT INTO hourly_rollups (gig, hour, surface, {', '.join(_COUNTS)}) "
    f"SELECT gig, bucket - bucket % {HOUR_MS}, surface, "
    f"{', '.join(f'SUM({c})' for c in _COUNTS)} FROM rollups GROUP BY 1, 2, 3"
)


def create(conn: sqlite3.Connection) -> None:
    """Create the table and its triggers; fill it from the rollups when it is new. Run in
    one transaction (`Writer.call`), so no ingest lands between the fill and the triggers."""
    new = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'hourly_rollups'"
    ).fetchone() is None
    for statement in _statements(SCHEMA):
        conn.execute(statement)
    if new:
        conn.execute(_BACKFILL)


def _statements(script: str) -> Iterable[str]:
    # `executescript` would commit the caller's transaction: run the statements one by one
    # (a trigger body holds `;`, so split on the statements' own ends).
    current: list[str] = []
    for line in script.strip().splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";") and (
            not current[0].lstrip().startswith("CREATE TRIGGER") or line.strip() == "END;"
        ):
            yield "\n".join(current)
            current = []


def tidy(conn: sqlite3.Connection, gig_before: Sequence[tuple[str, int]]) -> None:
    """After rollups before some bucket were purged: drop the hours wholly before it and
    rows of the hour it cuts that the purge left at zero."""
    zero = " AND ".join(f"{c} = 0" for c in _COUNTS)
    conn.executemany(
        f"DELETE FROM hourly_rollups WHERE gig = ? AND hour <= ? - {HOUR_MS}",
        gig_before,
    )
    conn.executemany(
        f"DELETE FROM hourly_rollups WHERE gig = ? AND hour < ? AND {zero}", gig_before
    )


def parts(edges: Sequence[int]) -> str:
    """SQL `VALUES` rows `(s, hs, he, e)` of the spans `[edges[i], edges[i+1])`: the
    quarter-hours `[s, hs)` and `[he, e)` are read from `rollups`, the hours `[hs, he)`
    from `hourly_rollups`. A span inside one hour is all quarter-hours."""
    rows = []
    for start, end in itertools.pairwise(edges):
        first_hour = -(-start // HOUR_MS) * HOUR_MS
        last_hour = end // HOUR_MS * HOUR_MS
        if first_hour >= last_hour:
            first_hour = last_hour = end
        rows.append(f"({int(start)},{int(first_hour)},{int(last_hour)},{int(end)})")
    return ",".join(rows)


def span_rows(edges: Sequence[int], columns: str) -> str:
    """A `WITH` query naming `parts(gig, s, surface, <counters>)`: every stored row that
    falls in a span, from the coarsest table that covers it, tagged with its span's start
    `s`. Gigs come from `wanted(gig)`, which the caller defines first."""
    picked = ", ".join(f"x.{c}" for c in _COUNTS)
    of_gig = "x.gig IN (SELECT gig FROM wanted)"
    return (
        f"spans(s, hs, he, e) AS (VALUES {parts(edges)}), "
        "parts AS ("
        f"SELECT x.gig, spans.s, x.surface, {picked} FROM spans JOIN rollups x "
        f"ON {of_gig} AND x.bucket >= spans.s AND x.bucket < spans.hs "
        f"UNION ALL SELECT x.gig, spans.s, x.surface, {picked} FROM spans "
        f"JOIN hourly_rollups x ON {of_gig} AND x.hour >= spans.hs AND x.hour < spans.he "
        f"UNION ALL SELECT x.gig, spans.s, x.surface, {picked} FROM spans JOIN rollups x "
        f"ON {of_gig} AND x.bucket >= spans.he AND x.bucket < spans.e) "
        f"SELECT {columns} FROM parts"
    )
