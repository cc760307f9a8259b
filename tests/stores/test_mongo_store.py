"""MongoStore beyond the contract: a crash at any step of an ingest is finished by recovery."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.events import Event, Surface
from server.stores import IngestResult, MongoStore, Store, mongo_ingest

from .store_events import T0, click, rows, served, view, viewable
from .store_streams import GIGS, random_stream, reference_count

pytestmark = pytest.mark.parametrize("store_factory", ["mongomock", "mongodb"], indirect=True)


class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.fixture
async def mongo(store_factory: Callable[[], Store]) -> AsyncIterator[MongoStore]:
    store = store_factory()
    assert isinstance(store, MongoStore)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def batch() -> list[Event]:
    return [
        served("i-1", position=3),
        viewable("i-1", position=7),
        click("i-1", surface=Surface.SEARCH),
        click("i-1", surface=Surface.HOMEPAGE),
        served("i-2", surface=Surface.CATEGORY, position=1),
        click("i-3", surface=Surface.SEARCH),
        view("p-1"),
        view("p-1"),
        view(None, surface=Surface.HOMEPAGE),
    ]


EXPECTED = {
    ("g-1", T0, Surface.SEARCH): (2, 2, 2, 0, 3, 1),
    ("g-1", T0, Surface.HOMEPAGE): (0, 0, 0, 1, 0, 0),
    ("g-1", T0, Surface.CATEGORY): (1, 0, 0, 0, 1, 1),
    ("g-1", T0, Surface.OTHER): (0, 0, 0, 1, 0, 0),
}


def crash_at(monkeypatch: pytest.MonkeyPatch, step: str, after_calls: int = 0) -> None:
    """Make `mongo_ingest.<step>` die after `after_calls` successful calls."""
    real = getattr(mongo_ingest, step)
    calls = 0

    async def dying(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if calls >= after_calls:
            raise Crash(step)
        calls += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(mongo_ingest, step, dying)


@pytest.mark.parametrize(
    ("step", "after_calls"),
    [
        ("apply_transitions", 0),
        ("transition", 4),
        ("apply_rollups", 0),
        ("upsert_gigs", 0),
        ("mark_applied", 0),
    ],
)
async def test_crash_at_any_step_is_recovered_exactly(
    mongo: MongoStore, monkeypatch: pytest.MonkeyPatch, step: str, after_calls: int
) -> None:
    events = batch()
    crash_at(monkeypatch, step, after_calls)
    with pytest.raises(Crash):
        await mongo.ingest(events)
    monkeypatch.undo()
    assert await mongo.recover(grace_ms=60_000) == 0  # too young: maybe still in flight
    assert await mongo.recover(grace_ms=0) == len(events)
    assert await rows(mongo) == EXPECTED
    assert await mongo.recover(grace_ms=0) == 0
    assert await mongo.ingest(events) == IngestResult(0, len(events))
    assert await rows(mongo) == EXPECTED


async def test_retry_of_a_crashed_batch_finishes_it(
    mongo: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = batch()
    crash_at(monkeypatch, "apply_rollups")
    with pytest.raises(Crash):
        await mongo.ingest(events)
    monkeypatch.undo()
    monkeypatch.setattr(mongo_ingest, "RECOVERY_GRACE_MS", 0)
    assert await mongo.ingest(events) == IngestResult(0, len(events))
    assert await rows(mongo) == EXPECTED


async def test_open_recovers_a_crashed_ingest(
    store_factory: Callable[[], Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = store_factory()
    assert isinstance(first, MongoStore)
    await first.open()
    crash_at(monkeypatch, "apply_transitions")
    with pytest.raises(Crash):
        await first.ingest(batch())
    await first.close()
    monkeypatch.undo()
    monkeypatch.setattr(mongo_ingest, "RECOVERY_GRACE_MS", 0)
    again = store_factory()
    await again.open()
    try:
        assert await rows(again) == EXPECTED
    finally:
        await again.close()


async def test_recovery_keeps_counts_other_ingests_made_meanwhile(
    mongo: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_at(monkeypatch, "apply_rollups")
    with pytest.raises(Crash):
        await mongo.ingest([served("i-1"), click("i-1")])
    monkeypatch.undo()
    await mongo.ingest([served("i-2"), viewable("i-1"), served("i-3", surface=Surface.HOMEPAGE)])
    assert await mongo.recover(grace_ms=0) == 2
    assert await rows(mongo) == {
        ("g-1", T0, Surface.SEARCH): (2, 1, 1, 0, 0, 0),
        ("g-1", T0, Surface.HOMEPAGE): (1, 0, 0, 0, 0, 0),
    }


@pytest.mark.parametrize("seed", range(3))
async def test_recomputed_rollups_equal_incremental_ones(mongo: MongoStore, seed: int) -> None:
    """Recovery's count from scratch agrees with the live count on any stream."""
    stream = random_stream(random.Random(seed), 60) + batch()
    for start in range(0, len(stream), 7):
        await mongo.ingest(stream[start : start + 7])
    live = await rows(mongo, GIGS)
    assert live == {k: tuple(v) for k, v in reference_count(stream).items()}
    db: Any = mongo._db
    await db.events.update_many({"automated": False}, {"$set": {"applied": False}})
    assert await mongo.recover(grace_ms=0) == sum(not e.automated for e in stream)
    assert await rows(mongo, GIGS) == live
