"""The types every layer shares: events, batches, counters, trust, invalid-traffic codes, time.

The bottom of the house: it imports nothing of gigmetrics, and everything may import it.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import NamedTuple

DAY_MS = 86_400_000
# Rollups' time buckets: every IANA zone's midnight is a multiple of 15 minutes from UTC's.
BUCKET_MS = 15 * 60 * 1000


def bucket_of(ts: int) -> int:
    """Start (epoch ms) of the 15-minute bucket holding `ts`."""
    return ts - ts % BUCKET_MS


# Partitions of gigs (MongoDB's shard zones are ranges of them): a CRC-32 of the UTF-8 gig id,
# the same in every process and version (Python's `hash` of a string is salted per process).
PARTITIONS = 1024


def partition(gig: str) -> int:
    """The partition of a gig's documents, 0 <= p < PARTITIONS."""
    return zlib.crc32(gig.encode()) % PARTITIONS


def now_ms() -> int:
    """The server clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class EventType(StrEnum):
    """What happened to a gig tile or a gig page (pinned wire values)."""

    SERVED = "served"
    VIEWABLE = "viewable"
    CLICK = "click"
    VIEW = "view"
    # A sale of the gig; last, so stored type numbers of the others keep their values.
    ORDER = "order"


class Surface(StrEnum):
    """Where a listing is shown (pinned wire values)."""

    SEARCH = "search"
    CATEGORY = "category"
    HOMEPAGE = "homepage"
    USER_PAGE = "user_page"
    OTHER = "other"


class Device(StrEnum):
    """What kind of device showed a tile, from the User-Agent of its `served` request."""

    DESKTOP = "desktop"
    MOBILE = "mobile"
    TABLET = "tablet"
    OTHER = "other"  # unknown, a crawler, a TV or console: nothing a seller designs for


CLICK_SURFACES_DEFAULT = frozenset({Surface.SEARCH, Surface.CATEGORY})
# Wire value -> enum member (a dict lookup is cheaper than calling the enum).
TYPES = {t.value: t for t in EventType}
SURFACES = {s.value: s for s in Surface}


class Trust(IntEnum):
    """How far an event's `seller` is trusted to set its gig's owner (counting/ownership.py).

    MOVE: the admin key or a valid listing/page signature may set or move an owner;
    FIRST: a write key scoped to the seller, or an anonymous beacon while signing is off, may
    name the owner of a gig that has none; CLAIM: an unsigned beacon while signing is on
    never sets an owner.
    """

    CLAIM = 0
    FIRST = 1
    MOVE = 2


class Invalid:
    """Invalid traffic: why an event is kept but never counted, as stable codes (MRC's split).

    GIVT (general invalid traffic) is what routine filtering catches: known crawlers, clients
    that declare automation, traffic at rates no person reaches. SIVT (sophisticated invalid
    traffic) needs a closer look: tiles no real listing holds, clicks nothing showed, events
    whose listing signature is missing, forged, stale or spent. `GigMetrics.invalidTraffic`
    reports each code with its kind, read from per-(gig, bucket, reason) rollups.
    """

    CRAWLER = "crawler"  # a crawler, bot or tool user agent, or none
    DECLARED_AUTOMATION = "declared_automation"  # navigator.webdriver, or "automated": true
    OVER_RATE = "over_rate"  # too many events from one page view, or (without one) one IP
    TOO_MANY_TILES = "too_many_tiles"  # more tiles in one page view than any real listing
    CLICK_UNSHOWN = "click_unshown"  # a click nothing showed, too soon after its tile's render
    UNSIGNED = "unsigned"  # signing is on and the event carries no signature
    BAD_SIGNATURE = "bad_signature"  # forged, altered, or made with an unknown key
    STALE_SIGNATURE = "stale_signature"  # signed too long before the event (or in the future)
    REPLAYED = "replayed"  # the signed tile or page was already spent by another impression


INVALID_KINDS: dict[str, str] = {
    Invalid.CRAWLER: "GIVT",
    Invalid.DECLARED_AUTOMATION: "GIVT",
    Invalid.OVER_RATE: "GIVT",
    Invalid.TOO_MANY_TILES: "SIVT",
    Invalid.CLICK_UNSHOWN: "SIVT",
    Invalid.UNSIGNED: "SIVT",
    Invalid.BAD_SIGNATURE: "SIVT",
    Invalid.STALE_SIGNATURE: "SIVT",
    Invalid.REPLAYED: "SIVT",
}


def invalid_kind(reason: str) -> str:
    """`GIVT` or `SIVT` for a reason code (unknown codes, from newer servers, are SIVT)."""
    return INVALID_KINDS.get(reason, "SIVT")


class Event(NamedTuple):
    """One accepted event; `ts` is the server's estimate of when it happened (epoch ms).

    A NamedTuple rather than a frozen dataclass: just as immutable, and five times cheaper to
    build, which matters on the collector's hot path (20 of them per beacon).
    """

    id: str
    type: EventType
    gig: str
    ts: int
    seller: str | None = None
    imp: str | None = None
    pv: str | None = None
    surface: Surface | None = None
    context: str | None = None
    position: int | None = None
    automated: bool = False
    # The listing's or page's signature token, as sent (edge/signing.py checks it).
    sig: str | None = None
    # Why the event is invalid traffic (an `Invalid` code), or None: counted.
    invalid: str | None = None
    # How far its `seller` is trusted to set the gig's owner; anonymous beacons without
    # signing are FIRST.
    trust: int = Trust.FIRST
    # With a valid signature: the signed slot it spends, "<nonce>.<position>" of the server
    # render that signed it (a listing tile, or position 0: the gig's own page). The first
    # impression (or page load) naming a slot spends it; another one's events are `replayed`.
    render: str | None = None
    # A click sooner than CLICK_MIN_MS after its snippet impression id was made.
    quick: bool = False
    # Which version of the tile a `served` event's render showed (a listing experiment).
    variant: str | None = None
    # An order's amount, in the major unit of `currency` (ISO 4217); both or neither.
    value: float | None = None
    currency: str | None = None
    # From the User-Agent of the request that carried the event; None: not known (recordEvents).
    device: Device | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """One refused event: its index in the batch, why, and a bounded copy of what came in."""

    index: int
    reason: str
    raw: str
    received: int


@dataclass(frozen=True, slots=True)
class Batch:
    """A validated batch: the events to store and the ones refused."""

    events: tuple[Event, ...]
    rejections: tuple[Rejection, ...]


@dataclass(slots=True)
class Counts:
    """Additive counters of one rollup row (or of a sum of rows)."""

    served: int = 0
    viewable: int = 0
    clicks: int = 0
    views: int = 0
    position_sum: int = 0
    position_count: int = 0
    orders: int = 0

    def add(self, other: Counts) -> None:
        """Add `other` into this one."""
        self.served += other.served
        self.viewable += other.viewable
        self.clicks += other.clicks
        self.views += other.views
        self.position_sum += other.position_sum
        self.position_count += other.position_count
        self.orders += other.orders

    def is_zero(self) -> bool:
        """True when adding this changes nothing."""
        return not (
            self.served or self.viewable or self.clicks or self.views or self.position_count
            or self.orders
        )
