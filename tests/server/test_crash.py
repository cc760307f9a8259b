"""SPEC §1 Exactness: a `kill -9` of the server mid-load loses no acknowledged event and
counts no retried event twice."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import pytest

from .conftest import ServerProcess

pytestmark = pytest.mark.slow

GIGS = ("g-crash-a", "g-crash-b")
BATCH = 20
QUERY = "query($g: ID!) { gigMetrics(gigId: $g) { servedImpressions viewableImpressions } }"


def make_batches(count: int) -> list[dict[str, object]]:
    now = int(time.time() * 1000)
    batches = []
    for b in range(count):
        events = []
        for i in range(BATCH):
            n = b * BATCH + i
            events.append({
                "id": f"ev-{uuid.uuid4().hex}", "type": "served", "gig": GIGS[n % 2],
                "imp": f"imp-{b}-{i}", "pv": f"pv-{b}", "surface": "search", "position": i + 1,
                "ts": now - 1000,
            })
        batches.append({"sent_at": now, "events": events})
    return batches


async def post_all(
    url: str, batches: list[dict[str, object]], acked: set[int], stop_after: float | None
) -> None:
    """Post batches with 4 concurrent clients; record which were acknowledged with a 200."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(batches)):
        queue.put_nowait(index)
    started = time.monotonic()

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            if stop_after is not None and time.monotonic() - started > stop_after:
                return
            index = queue.get_nowait()
            try:
                response = await client.post(f"{url}/collect", json=batches[index])
            except httpx.HTTPError:
                continue
            if response.status_code == 200:
                body = response.json()
                assert body["accepted"] + body["duplicates"] == BATCH
                acked.add(index)

    async with httpx.AsyncClient(timeout=5, headers={"user-agent": "Mozilla/5.0 Chrome/130"}) as c:
        await asyncio.gather(*(worker(c) for _ in range(4)))


def served_total(server: ServerProcess) -> int:
    total = 0
    for gig in GIGS:
        data = server.graphql(QUERY, g=gig)
        total += data["gigMetrics"]["servedImpressions"]  # type: ignore[index]
    return total


async def kill_while_posting(server: ServerProcess, batches: list[dict[str, object]]) -> set[int]:
    acked: set[int] = set()
    poster = asyncio.create_task(post_all(server.url, batches, acked, stop_after=None))
    while len(acked) < len(batches) // 4:
        await asyncio.sleep(0.01)
    await asyncio.to_thread(server.kill_hard)
    await poster
    return acked


def test_kill_9_mid_load_loses_no_acknowledged_event_and_retries_count_once(
    server_process: ServerProcess,
) -> None:
    batches = make_batches(400)
    server_process.start()
    acked = asyncio.run(kill_while_posting(server_process, batches))
    assert 0 < len(acked) < len(batches), "the kill must land while the client is posting"

    server_process.start()
    after_crash = served_total(server_process)
    # Every acknowledged event survived; an unacknowledged one may or may not have.
    assert after_crash >= len(acked) * BATCH
    assert after_crash <= len(batches) * BATCH

    # The client retries everything (acknowledged ones too, as a client unsure of its acks
    # would): each event ends up counted exactly once.
    retried: set[int] = set()
    asyncio.run(post_all(server_process.url, batches, retried, stop_after=None))
    assert retried == set(range(len(batches)))
    assert served_total(server_process) == len(batches) * BATCH

    # And a second crash/restart changes nothing.
    server_process.kill_hard()
    server_process.start()
    assert served_total(server_process) == len(batches) * BATCH
