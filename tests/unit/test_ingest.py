"""Ingestion: a flood of rejected events is sampled before it reaches the store."""

from __future__ import annotations

from server.ingest import RejectionSampler
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
