"""Demo traffic: only an empty embedded store with the demo on is filled, through ingest;
it comes from three devices, holds orders, and its experiments have a winner and a tie."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.counting.experiments import Arm, compare
from server.demo import EXPERIMENTS, catalogue
from server.demo.traffic import VARIANT_CTR, demo_events, demo_traffic, fill_demo_store
from server.edge.events import parse_events
from server.model import Device
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


def test_demo_traffic_comes_from_three_devices_with_orders_in_two_currencies() -> None:
    traffic = list(demo_traffic(NOW, days=7))
    assert {device for device, _ in traffic} == {Device.MOBILE, Device.DESKTOP, Device.TABLET}
    clicks = {e["imp"]: (device, e) for device, e in traffic if e["type"] == "click"}
    orders = [(device, e) for device, e in traffic if e["type"] == "order"]
    after_click = [(device, e) for device, e in orders if "imp" in e]
    assert len(after_click) > 50 and len(orders) - len(after_click) > 20
    for device, order in after_click:
        clicked_on, click = clicks[order["imp"]]
        assert (order["gig"], device) == (click["gig"], clicked_on)
        assert order["ts"] > click["ts"]
    assert {e["currency"] for _, e in orders} == {"USD", "EUR"}
    assert all(e["value"] > 0 for _, e in orders)
    batch = parse_events([e for _, e in orders[:100]], sent_at=None, received=NOW, oldest_days=8)
    assert batch.rejections == ()


def test_only_the_experiments_tiles_name_a_variant() -> None:
    served = [e for e in demo_events(NOW, days=3) if e["type"] == "served"]
    named = {(e["gig"], e["variant"]) for e in served if "variant" in e}
    assert named == {(gig, v) for gig, variants in EXPERIMENTS.items() for v in variants}
    assert all("variant" in e for e in served if e["gig"] in EXPERIMENTS)
    assert set(VARIANT_CTR) == set(EXPERIMENTS)


def looks(events: list[dict[str, Any]], now: int, gig: str, days: int = 30
          ) -> list[tuple[Arm, Arm]]:
    """Variants A and B of `gig`, counted from the window's first day up to each day."""
    start = now - days * 86_400_000
    variant_of: dict[str, str] = {}
    per_day = {v: [[0, 0] for _ in range(days)] for v in ("A", "B")}
    for event in events:
        if event["gig"] != gig or event["ts"] < start:
            continue
        day = (event["ts"] - start) // 86_400_000
        if event["type"] == "served":
            variant_of[event["imp"]] = event["variant"]
            per_day[event["variant"]][day][0] += 1
        elif event["type"] == "click" and event["imp"] in variant_of:
            per_day[variant_of[event["imp"]]][day][1] += 1
    found, a, b = [], [0, 0], [0, 0]
    for day in range(days):
        for total, key in ((a, "A"), (b, "B")):
            total[0] += per_day[key][day][0]
            total[1] += per_day[key][day][1]
        found.append((Arm(*a), Arm(*b)))
    return found


@pytest.mark.parametrize("hours_later", [0, 17, 100])
def test_the_demo_experiments_show_a_winner_and_no_difference(hours_later: int) -> None:
    now = NOW + hours_later * 3_600_000
    events = list(demo_events(now))
    winner = compare(looks(events, now, "g-101"))
    assert winner.significant and winner.ctr_change is not None and winner.ctr_change > 50
    tied = looks(events, now, "g-102")
    tie = compare(tied)
    assert not tie.significant and tie.p_value > 0.2
    assert all(arm.served >= 100 and arm.clicks > 0 for arm in tied[-1])
