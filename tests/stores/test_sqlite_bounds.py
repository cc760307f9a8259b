"""SQLiteStore under a flood: rejected events are capped when they are written."""

from __future__ import annotations

import os
import sqlite3

import pytest

from server.model import Rejection
from server.stores import SQLiteStore
from server.stores.sqlite import ingest as sqlite_ingest


async def file_size(store: SQLiteStore) -> int:
    """The database file's size once the WAL is checkpointed into it."""
    conn = sqlite3.connect(store.path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(store.path)


def junk(batch: int, n: int = 10) -> list[Rejection]:
    return [Rejection(i, f"reason {batch}", "x" * 1000, received=batch) for i in range(n)]


async def test_rejections_are_capped_at_write_time_keeping_the_newest(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_ingest, "REJECTIONS_KEPT", 50)
    for batch in range(30):
        await sqlite_store.ingest([], junk(batch))
    kept = await sqlite_store.rejections(1000)
    assert len(kept) == 50  # no purge ran: the write itself holds the cap
    assert {k.reason for k in kept} == {"reason 25", "reason 26", "reason 27", "reason 28",
                                        "reason 29"}


async def test_a_long_flood_does_not_grow_the_file(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_ingest, "REJECTIONS_KEPT", 200)
    for batch in range(40):
        await sqlite_store.ingest([], junk(batch, 100))
    size_after_40 = await file_size(sqlite_store)
    for batch in range(40, 200):
        await sqlite_store.ingest([], junk(batch, 100))
    # Freed pages are reused: 5x the flood, not 5x the file.
    assert await file_size(sqlite_store) <= size_after_40 * 1.2
    assert len(await sqlite_store.rejections(1000)) == 200
