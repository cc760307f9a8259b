"""Ingestion: a flood of rejected events is sampled before it reaches the store."""

from __future__ import annotations

from server.edge.events import parse_events
from server.ingest import ORDERS_NOT_COUNTED, RejectionSampler, orders_held_back
from server.model import Rejection


def rejections(n: int) -> tuple[Rejection, ...]:
    return tuple(Rejection(i, "bad", "{}", received=0) for i in range(n))


def test_rejections_under_the_rate_are_all_kept() -> None:
    sampler = RejectionSampler(per_second=100, sample_every=10)
    assert len(sampler.kept(rejections(40))) == 40
    assert len(sampler.kept(rejections(60))) == 60
    assert sampler.dropped == 0


def test_a_flood_beyond_the_rate_is_sampled() -> None:
    sampler = RejectionSampler(per_second=100, sample_every=10)
    stored = sum(len(sampler.kept(rejections(50))) for _ in range(100))  # 5,000 in a moment
    assert stored == 100 + 4_900 // 10
    assert sampler.dropped == 5_000 - stored


def test_nothing_to_sample() -> None:
    assert RejectionSampler().kept(()) == ()


RECEIVED = 1_763_800_000_000


def test_orders_are_refused_at_their_index_until_they_are_counted() -> None:
    raws: list[object] = [
        {"id": "evt-00001", "type": "view", "gig": "g-1", "ts": RECEIVED},
        {"id": "ORD-00001", "type": "order", "gig": "g-1", "ts": RECEIVED, "value": 9.5,
         "currency": "EUR"},
        {"id": "bad"},
        {"id": "ORD-00002", "type": "order", "gig": "g-1", "imp": "i-1", "ts": RECEIVED},
        {"id": "evt-00002", "type": "view", "gig": "g-2", "ts": RECEIVED},
    ]
    batch = orders_held_back(parse_events(raws, sent_at=None, received=RECEIVED))
    assert [e.id for e in batch.events] == ["evt-00001", "evt-00002"]
    assert [(r.index, r.reason) for r in batch.rejections] == [
        (1, ORDERS_NOT_COUNTED), (2, batch.rejections[1].reason), (3, ORDERS_NOT_COUNTED)
    ]
    assert batch.rejections[1].reason.startswith("id:")
    assert '"ORD-00001"' in batch.rejections[0].raw and '"EUR"' in batch.rejections[0].raw


def test_a_batch_without_orders_is_left_as_it_is() -> None:
    raws = [{"id": "evt-00001", "type": "view", "gig": "g-1", "ts": RECEIVED}, "x"]
    batch = parse_events(raws, sent_at=None, received=RECEIVED)
    assert orders_held_back(batch) is batch
