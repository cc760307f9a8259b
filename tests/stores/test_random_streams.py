"""Random event streams, split into random batches with duplicates and retries, on every store.

Rollups must equal the reference count of `store_streams`, and served >= viewable >= clicks
must hold in every (gig, bucket).
"""

from __future__ import annotations

import random

import pytest

from server.model import Event
from server.stores import Store

from .store_events import rows
from .store_streams import GIGS, random_stream, reference_count


@pytest.mark.parametrize("seed", range(6))
async def test_random_stream_matches_reference_count(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    stream = random_stream(rng, 90)
    batches: list[list[Event]] = []
    position = 0
    while position < len(stream):
        size = rng.randint(1, 12)
        batch = stream[position : position + size]
        position += size
        if rng.random() < 0.3:  # a duplicate beacon inside the batch
            batch = [*batch, rng.choice(batch)]
        batches.append(batch)
        if rng.random() < 0.25:  # a client retry of an earlier batch
            batches.append(list(rng.choice(batches)))
    arrivals: list[Event] = []
    accepted = duplicates = 0
    for batch in batches:
        result = await store.ingest(batch)
        accepted += result.accepted
        duplicates += result.duplicates
        arrivals.extend(batch)
    assert accepted == len({e.id for e in stream})
    assert accepted + duplicates == len(arrivals)
    expected = reference_count(arrivals)
    got = await rows(store, GIGS)
    assert got == {k: tuple(v) for k, v in expected.items()}
    per_bucket: dict[tuple[str, int], list[int]] = {}
    for (gig, bucket, _), values in got.items():
        sums = per_bucket.setdefault((gig, bucket), [0, 0, 0])
        for i in range(3):
            sums[i] += values[i]
    for served_n, viewable_n, clicks_n in per_bucket.values():
        assert served_n >= viewable_n >= clicks_n
