"""Demo traffic: only an empty embedded store with the demo on is filled, through ingest."""

from __future__ import annotations

from pathlib import Path

from server.demo import catalogue
from server.demo.traffic import demo_events, fill_demo_store
from server.edge.events import parse_events
from server.settings import Settings
from server.stores import SQLiteStore

NOW = 1_781_514_000_000


def test_demo_events_are_valid_marked_and_cover_the_days() -> None:
    events = list(demo_events(NOW, days=3))
    batch = parse_events(events[:100], sent_at=None, received=NOW, oldest_days=4)
    assert batch.rejections == ()
    assert all(e["id"].startswith("demo-") for e in events)
    assert {e["gig"] for e in events} <= set(catalogue())
    assert min(e["ts"] for e in events) >= NOW - 3 * 86_400_000
    assert max(e["ts"] for e in events) < NOW
    assert list(demo_events(NOW, days=3)) == events  # the same every time


async def test_only_an_empty_demo_store_is_filled(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/d.db"
    store = SQLiteStore(tmp_path / "d.db")
    await store.open()
    try:
        assert await fill_demo_store(store, Settings(database_url=url, demo=False), NOW) is None
        assert await store.sellers() == []
        filled = await fill_demo_store(store, Settings(database_url=url), NOW, days=1)
        assert filled is not None and filled > 1000
        assert len(await store.sellers()) == 12
        # A store with data is never filled again.
        assert await fill_demo_store(store, Settings(database_url=url), NOW, days=1) is None
        mongo = Settings(database_url="mongodb://x/y")
        assert await fill_demo_store(store, mongo, NOW, days=1) is None
    finally:
        await store.close()
