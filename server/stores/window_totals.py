"""Per-gig window totals kept between reads, valid while the gig's data does not change.

Ranking every gig of a marketplace sums every gig's rows of the window: over a million rows
for 100,000 gigs, seconds on SQLite. Most gigs did not change since the last ranking, so
their totals are kept, keyed on the gig's data version: every commit that stores events of
a gig (and every deletion) moves its version, and only gigs whose version moved are summed
again. No answer changes: a kept total is used only where a fresh read would give the same.

A total over `[start, end)` is reused for a later window `[start, end')` with `end' >= end`
(the rolling window's end is the request's now) only when no row with a bucket in
`[end, end')` can have existed when it was read. Events are never later than their arrival,
so a gig whose last commit (`changed`'s clock) was before `end` had no such row; a commit
after the read moves the version. Otherwise the total is reused only for the same `end`.

Pure bookkeeping, no database: `SQLiteStore` feeds it from its writer's commits. A store
that many processes write (MongoDB) cannot learn every change in-process, so it does not
use it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..counting.metrics import Metrics
from ..model import Surface

WindowKey = tuple[int, frozenset[Surface]]
# Windows kept at once: the rolling window moves every 15 minutes; ranges come and go.
WINDOWS_KEPT = 4


@dataclass(frozen=True, slots=True)
class _Kept:
    version: int
    end: int
    extendable: bool
    metrics: Metrics


@dataclass(frozen=True, slots=True)
class Stamp:
    """The versions of some gigs when a read of them began."""

    epoch: int
    versions: dict[str, tuple[int, int]]  # gig -> (version, clock of its last change)


class WindowTotals:
    """Kept window totals of gigs. `changed` may be called from any thread (the writer's);
    the rest from one thread (the event loop), and a lookup never waits for the writer:
    versions are read one `dict.get` at a time, and a version that moves during a read only
    makes what it found stale."""

    def __init__(self, opened: int) -> None:
        # A gig no commit of this process changed was last changed before it opened the
        # store (`opened`, ms): its events arrived by then.
        self._unchanged = (0, opened)
        self._lock = threading.Lock()
        self._versions: dict[str, tuple[int, int]] = {}
        self._epoch = 0
        self._windows: OrderedDict[WindowKey, dict[str, _Kept]] = OrderedDict()

    def changed(self, gigs: Iterable[str], when: int) -> None:
        """These gigs' rollups may have changed (committed by now, clock `when` in ms)."""
        with self._lock:
            for gig in gigs:
                version, _ = self._versions.get(gig, self._unchanged)
                self._versions[gig] = (version + 1, when)

    def forget(self) -> None:
        """Drop everything kept (after a purge: rows left without a per-gig report)."""
        self._epoch += 1
        self._windows.clear()

    def lookup(
        self, gigs: Sequence[str], start: int, end: int, click_surfaces: frozenset[Surface]
    ) -> tuple[dict[str, Metrics], list[str], Stamp]:
        """The kept totals still valid for `[start, end)`, the gigs to read again, and the
        stamp to `keep` what that read finds under."""
        found: dict[str, Metrics] = {}
        stale: list[str] = []
        kept = self._windows.get((start, click_surfaces), {})
        versions, unchanged = self._versions, self._unchanged
        for gig in gigs:
            entry = kept.get(gig)
            if (
                entry is not None
                and entry.version == versions.get(gig, unchanged)[0]
                and (entry.end == end or (entry.extendable and entry.end <= end))
            ):
                found[gig] = entry.metrics
            else:
                stale.append(gig)
        stamp = Stamp(self._epoch, {gig: versions.get(gig, unchanged) for gig in stale})
        return found, stale, stamp

    def keep(
        self,
        stamp: Stamp,
        start: int,
        end: int,
        click_surfaces: frozenset[Surface],
        totals: dict[str, Metrics],
    ) -> None:
        """Keep what a read begun at `stamp` found for its gigs (absent ones: zeros)."""
        zero = Metrics()
        if stamp.epoch != self._epoch:
            return
        key = (start, click_surfaces)
        kept = self._windows.setdefault(key, {})
        self._windows.move_to_end(key)
        while len(self._windows) > WINDOWS_KEPT:
            self._windows.popitem(last=False)
        for gig, (version, last_change) in stamp.versions.items():
            kept[gig] = _Kept(version, end, last_change < end, totals.get(gig, zero))
