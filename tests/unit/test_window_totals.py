"""Kept window totals: reused only where a fresh read would give the same answer."""

from __future__ import annotations

from server.counting.metrics import Metrics
from server.model import CLICK_SURFACES_DEFAULT as CLICKING
from server.stores.window_totals import WINDOWS_KEPT, WindowTotals

OPENED = 1_000
START = 10_000


def read(kept: WindowTotals, gigs: list[str], end: int, db: dict[str, Metrics],
         start: int = START) -> tuple[dict[str, Metrics], list[str]]:
    """A read through the kept totals, `db` standing for the database."""
    found, stale, stamp = kept.lookup(gigs, start, end, CLICKING)
    fresh = {gig: db[gig] for gig in stale if gig in db}
    kept.keep(stamp, start, end, CLICKING, fresh)
    found.update(fresh)
    return found, stale


def test_a_total_is_read_once_while_its_gig_does_not_change() -> None:
    kept = WindowTotals(OPENED)
    db = {"g-1": Metrics(served=3), "g-2": Metrics(served=1)}
    assert read(kept, ["g-1", "g-2", "g-0"], 20_000, db) == (
        {"g-1": Metrics(served=3), "g-2": Metrics(served=1)}, ["g-1", "g-2", "g-0"]
    )
    # The rolling window's end moved on; nothing changed since before the first end.
    found, stale = read(kept, ["g-1", "g-2", "g-0"], 25_000, db)
    assert stale == [] and found["g-1"] == Metrics(served=3) and found["g-0"] == Metrics()


def test_a_changed_gig_is_read_again() -> None:
    kept = WindowTotals(OPENED)
    db = {"g-1": Metrics(served=3), "g-2": Metrics(served=1)}
    read(kept, ["g-1", "g-2"], 20_000, db)
    db["g-1"] = Metrics(served=4)
    kept.changed({"g-1"}, 19_000)
    found, stale = read(kept, ["g-1", "g-2"], 20_000, db)
    assert stale == ["g-1"] and found["g-1"] == Metrics(served=4)


def test_a_change_after_the_end_is_reused_only_for_that_end() -> None:
    kept = WindowTotals(OPENED)
    db = {"g-1": Metrics(served=3)}
    kept.changed({"g-1"}, 21_000)  # events that may lie after the first read's end
    read(kept, ["g-1"], 20_000, db)
    assert read(kept, ["g-1"], 20_000, db)[1] == []
    assert read(kept, ["g-1"], 22_000, db)[1] == ["g-1"]  # read again: rows may lie past 20,000
    assert read(kept, ["g-1"], 23_000, db)[1] == []  # 22,000 came after the change


def test_a_gig_untouched_since_opening_extends_only_past_the_opening() -> None:
    kept = WindowTotals(opened=30_000)  # a range ending before the store was opened
    db = {"g-1": Metrics(served=3)}
    read(kept, ["g-1"], 20_000, db)
    assert read(kept, ["g-1"], 40_000, db)[1] == ["g-1"]


def test_a_read_begun_before_a_change_keeps_nothing_valid() -> None:
    kept = WindowTotals(OPENED)
    _, _, stamp = kept.lookup(["g-1"], START, 20_000, CLICKING)
    kept.changed({"g-1"}, 15_000)  # committed while the read ran
    kept.keep(stamp, START, 20_000, CLICKING, {"g-1": Metrics(served=1)})
    assert kept.lookup(["g-1"], START, 20_000, CLICKING)[1] == ["g-1"]


def test_forget_drops_everything_and_ignores_reads_begun_before() -> None:
    kept = WindowTotals(OPENED)
    db = {"g-1": Metrics(served=3)}
    read(kept, ["g-1"], 20_000, db)
    _, _, stamp = kept.lookup(["g-2"], START, 20_000, CLICKING)
    kept.forget()
    kept.keep(stamp, START, 20_000, CLICKING, {})
    assert kept.lookup(["g-1", "g-2"], START, 20_000, CLICKING)[1] == ["g-1", "g-2"]


def test_windows_and_click_surfaces_are_kept_apart_and_bounded() -> None:
    kept = WindowTotals(OPENED)
    db = {"g-1": Metrics(served=3)}
    for i in range(WINDOWS_KEPT + 1):
        read(kept, ["g-1"], 20_000, db, start=START + i)
    assert read(kept, ["g-1"], 20_000, db, start=START)[1] == ["g-1"]  # the oldest went
    assert read(kept, ["g-1"], 20_000, db, start=START + WINDOWS_KEPT)[1] == []
    assert kept.lookup(["g-1"], START + WINDOWS_KEPT, 20_000, frozenset())[1] == ["g-1"]
