"""The SQLite store's read queries, each a function of a reader connection (`store.py` runs
them on its readers, beside the writer).

A list of gigs (or sellers) crosses into SQL one way only: one JSON array parameter read by
`json_each`. One statement text serves any length (no IN list to cut at SQLite's parameter
limit, nothing to pad), and each gig is still looked up through the primary key.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Sequence

from ...counting.metrics import ContextRow, Metrics, RollupRow
from ...counting.ownership import Conflict
from ...counting.splits import SplitRow, Tally
from ...model import Counts, Surface
from ..base import InvalidRow, StoredRejection
from . import hourly

COUNT_COLUMNS = (
    "served", "viewable", "clicks", "views", "position_sum", "position_count", "orders"
)
CONTEXT_COLUMNS = ("served", "viewable", "clicks", "position_sum", "position_count", "orders")
SPLIT_COLUMNS = ("served", "viewable", "clicks", "orders", "amount")
# The values of a `listed(...)` parameter, for `x IN LISTED`.
LISTED = "(SELECT value FROM json_each(?))"
# The gigs of a span read, as `hourly.span_rows` wants them.
WANTED = f"wanted(gig) AS {LISTED}"


def listed(values: Sequence[str]) -> str:
    """The one parameter that passes a list of gigs or sellers (`LISTED`)."""
    return json.dumps(sorted(set(values)))


def span_totals(
    gigs: Sequence[str], edges: Sequence[int], conn: sqlite3.Connection
) -> list[RollupRow]:
    """Rows summed per (gig, span, surface) in SQL: each span's whole hours from
    `hourly_rollups`, its quarter-hour ends from `rollups` (`hourly.py`); only the sums
    cross into Python."""
    sums = ", ".join(f"SUM({name})" for name in COUNT_COLUMNS)
    sql = "WITH " + WANTED + ", " + hourly.span_rows(
        edges, f"gig, s, surface, {sums}"
    ) + " GROUP BY gig, s, surface"
    return [
        RollupRow(gig, at, Surface(surface), Counts(*counts))
        for gig, at, surface, *counts in conn.execute(sql, (listed(gigs),))
    ]


def gig_totals(
    gigs: Sequence[str],
    start: int,
    end: int,
    click_surfaces: frozenset[Surface],
    conn: sqlite3.Connection,
) -> dict[str, Metrics]:
    """Each gig's totals over the window, only click surfaces' clicks: one row per gig."""
    clicking = ",".join(f"'{s.value}'" for s in sorted(click_surfaces))
    clicks = f"SUM(CASE WHEN surface IN ({clicking}) THEN clicks ELSE 0 END)"
    columns = (
        f"gig, SUM(served), SUM(viewable), {clicks}, SUM(views), SUM(position_sum), "
        "SUM(position_count), SUM(orders)"
    )
    sql = "WITH " + WANTED + ", " + hourly.span_rows([start, end], columns) + " GROUP BY gig"
    return {gig: Metrics(*counts) for gig, *counts in conn.execute(sql, (listed(gigs),))}


def context_totals(
    gigs: Sequence[str], start: int, end: int, conn: sqlite3.Connection
) -> list[ContextRow]:
    """Context rollups summed per (gig, surface, context), one primary-key range per gig."""
    sums = ", ".join(f"SUM({name})" for name in CONTEXT_COLUMNS)
    sql = (
        f"SELECT gig, surface, context, {sums} FROM context_rollups "
        f"WHERE gig IN {LISTED} AND bucket >= ? AND bucket < ? "
        "GROUP BY gig, surface, context"
    )
    found: list[ContextRow] = []
    for gig, surface, context, *counts in conn.execute(sql, (listed(gigs), start, end)):
        served, viewable, clicks, position_sum, position_count, orders = counts
        found.append(ContextRow(gig, Surface(surface), context, Counts(
            served, viewable, clicks, 0, position_sum, position_count, orders
        )))
    return found


def split_totals(
    gigs: Sequence[str], edges: Sequence[int], conn: sqlite3.Connection
) -> list[SplitRow]:
    """Split rollups summed per (gig, span, kind, key) for the spans `[edges[i],
    edges[i+1])`, one primary-key range per gig and span."""
    sums = ", ".join(f"SUM(x.{name})" for name in SPLIT_COLUMNS)
    spans = ",".join(f"({int(s)},{int(e)})" for s, e in itertools.pairwise(edges))
    if not spans:
        return []
    sql = (
        f"WITH spans(s, e) AS (VALUES {spans}) "
        f"SELECT x.gig, spans.s, x.kind, x.key, {sums} FROM spans JOIN split_rollups x "
        f"ON x.gig IN {LISTED} AND x.bucket >= spans.s AND x.bucket < spans.e "
        "GROUP BY x.gig, spans.s, x.kind, x.key"
    )
    return [
        SplitRow(gig, start, kind, key, Tally(*counts))
        for gig, start, kind, key, *counts in conn.execute(sql, (listed(gigs),))
    ]


def invalid_totals(
    gigs: Sequence[str], start: int, end: int, conn: sqlite3.Connection
) -> list[InvalidRow]:
    """Invalid-traffic rows summed per (gig, reason), through the primary key."""
    sql = (
        f"SELECT gig, reason, sum(events) FROM invalid_rollups WHERE gig IN {LISTED} "
        "AND bucket >= ? AND bucket < ? GROUP BY gig, reason ORDER BY gig, reason"
    )
    return [InvalidRow(*row) for row in conn.execute(sql, (listed(gigs), start, end))]


def sellers(conn: sqlite3.Connection) -> list[str]:
    """Every seller some gig belongs to, sorted (through the seller index)."""
    sql = "SELECT DISTINCT seller FROM gigs WHERE seller IS NOT NULL ORDER BY seller"
    return [row[0] for row in conn.execute(sql)]


def gigs_of_sellers(sellers: Sequence[str] | None, conn: sqlite3.Connection) -> list[str]:
    """Gig ids seen with one of these sellers (every gig for None), sorted."""
    if sellers is None:
        return [row[0] for row in conn.execute("SELECT gig FROM gigs ORDER BY gig")]
    sql = f"SELECT gig FROM gigs WHERE seller IN {LISTED} ORDER BY gig"
    return [row[0] for row in conn.execute(sql, (listed(sellers),))]


def seller_of(gigs: Sequence[str], conn: sqlite3.Connection) -> dict[str, str]:
    """The seller last seen for each of these gigs that has one."""
    sql = f"SELECT gig, seller FROM gigs WHERE gig IN {LISTED} AND seller IS NOT NULL"
    return dict(conn.execute(sql, (listed(gigs),)).fetchall())


def rejections(limit: int, conn: sqlite3.Connection) -> list[StoredRejection]:
    """The newest rejected events, newest first."""
    sql = "SELECT received, idx, reason, raw FROM rejections ORDER BY id DESC LIMIT ?"
    return [StoredRejection(*row) for row in conn.execute(sql, (max(limit, 0),))]


def gig_claims(limit: int, conn: sqlite3.Connection) -> list[Conflict]:
    """Sellers named for gigs another seller owns, most recent first."""
    sql = (
        "SELECT gig, seller, first, last, events FROM gig_claims "
        "ORDER BY last DESC, gig, seller LIMIT ?"
    )
    return [Conflict(*row) for row in conn.execute(sql, (max(limit, 0),))]
