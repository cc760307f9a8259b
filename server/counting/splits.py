"""Pure: an impression's counts split by listing variant and by device, and orders' revenue
per currency, as rollup deltas keyed by (gig, 15-minute bucket, kind, key).

One kind of row serves all three, so each store keeps one more counter table, not three:

- `variant`: impressions whose `served` named a variant (a listing experiment); at most
  VARIANTS_PER_DAY variants per gig and UTC day, later new ones summed under OTHER_VARIANT
  (`bound_variants`), so free text cannot grow rows;
- `device`: every impression, under the device of its `served` request (`other` when not
  known), and orders that name no known impression, under their own request's device;
- `currency`: orders and their value per currency, in integer thousandths of the major
  unit, so sums are exact (values are capped at 10^12 at the edge).

Like contexts, a row counts an impression under its own bucket; an impression's change
moves its counts from the row of its state before to the row of its state after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from ..model import DAY_MS, Device

if TYPE_CHECKING:
    from .rules import ImpressionState

VARIANT, DEVICE, CURRENCY = "variant", "device", "currency"
# Variants kept per gig and UTC day (an experiment has a few); the rest are summed as "".
VARIANTS_PER_DAY = 20
OTHER_VARIANT = ""


class SplitKey(NamedTuple):
    """One split rollup row: a gig, a 15-minute bucket, a kind and its key."""

    gig: str
    bucket: int
    kind: str
    key: str


@dataclass(slots=True)
class Tally:
    """Additive counters of one split row (`amount`: thousandths of a currency's unit)."""

    served: int = 0
    viewable: int = 0
    clicks: int = 0
    orders: int = 0
    amount: int = 0

    def add(self, other: Tally) -> None:
        """Add `other` into this one."""
        self.served += other.served
        self.viewable += other.viewable
        self.clicks += other.clicks
        self.orders += other.orders
        self.amount += other.amount

    def is_zero(self) -> bool:
        """True when adding this changes nothing."""
        return not (self.served or self.viewable or self.clicks or self.orders or self.amount)


SplitDelta = dict[SplitKey, Tally]


def tally(delta: SplitDelta, gig: str, bucket: int, kind: str, key: str) -> Tally:
    """The row of `delta` for this key (made when missing)."""
    split = SplitKey(gig, bucket, kind, key)
    row = delta.get(split)
    if row is None:
        row = delta[split] = Tally()
    return row


def device_key(device: Device | None) -> str:
    """The device row's key (`other`: not known, e.g. a backend's `recordEvents`)."""
    return _DEVICE_KEYS[device]


def thousandths(value: float) -> int:
    """An order's value in integer thousandths of its currency's major unit."""
    return round(value * 1000)


def add_impression(
    delta: SplitDelta, gig: str, before: ImpressionState | None, after: ImpressionState
) -> None:
    """Move an impression's counts from its variant and device rows before to after."""
    # Hot: once per changed impression. Most changes keep the rows (a viewable, a click, an
    # order): add the difference there, once.
    if before is None:
        _add(delta, gig, after, 1, 1, after.viewable, after.clicked, after.orders)
    elif (before.bucket, before.device, before.variant) == (
        after.bucket, after.device, after.variant
    ):
        _add(delta, gig, after, 1, 0, after.viewable - before.viewable,
             after.clicked - before.clicked, after.orders - before.orders)
    else:
        _add(delta, gig, before, -1, 1, before.viewable, before.clicked, before.orders)
        _add(delta, gig, after, 1, 1, after.viewable, after.clicked, after.orders)


_DEVICE_KEYS: dict[Device | None, str] = {None: Device.OTHER.value, **{d: d.value for d in Device}}


def _add(
    delta: SplitDelta, gig: str, state: ImpressionState, sign: int, served: int,
    viewable: int, clicks: int, orders: int,
) -> None:
    key = SplitKey(gig, state.bucket, DEVICE, _DEVICE_KEYS[state.device])
    while True:
        row = delta.get(key)
        if row is None:
            row = delta[key] = Tally()
        row.served += sign * served
        row.viewable += sign * viewable
        row.clicks += sign * clicks
        row.orders += sign * orders
        if state.variant is None or key.kind == VARIANT:
            return
        key = SplitKey(gig, state.bucket, VARIANT, state.variant)


def bound_variants(
    delta: SplitDelta, kept: dict[tuple[str, int], set[str]], limit: int = VARIANTS_PER_DAY
) -> tuple[SplitDelta, set[tuple[str, int, str]]]:
    """The delta with variants past `limit` per (gig, UTC day) filed under OTHER_VARIANT
    (the rules of `rules.bound_contexts`: kept sets only grow, admitted in (gig, bucket,
    variant) order); returns it and the (gig, day, variant) triples admitted now."""
    bounded: SplitDelta = {k: v for k, v in delta.items() if k.kind != VARIANT}
    admitted: set[tuple[str, int, str]] = set()
    for split in sorted(k for k in delta if k.kind == VARIANT):
        gig, bucket, kind, key = split
        target = split
        day = bucket // DAY_MS
        known = kept.setdefault((gig, day), set())
        if key not in known:
            if len(known) < limit:
                known.add(key)
                admitted.add((gig, day, key))
            else:
                target = SplitKey(gig, bucket, kind, OTHER_VARIANT)
        row = bounded.get(target)
        if row is None:
            row = bounded[target] = Tally()
        row.add(delta[split])
    return {k: v for k, v in bounded.items() if not v.is_zero()}, admitted


def variant_days(delta: SplitDelta) -> set[tuple[str, int]]:
    """The (gig, UTC day) pairs whose kept variants bounding `delta` reads."""
    return {(k.gig, k.bucket // DAY_MS) for k in delta if k.kind == VARIANT}


class SplitRow(NamedTuple):
    """Split rollups of one gig summed over one span of time (`start`: the span's start)."""

    gig: str
    start: int
    kind: str
    key: str
    tally: Tally
