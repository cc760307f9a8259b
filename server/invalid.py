"""Invalid traffic: why an event is kept but never counted, as stable codes (the MRC split).

GIVT (general invalid traffic) is what routine filtering catches: known crawlers, clients
that declare automation, traffic at rates no person reaches. SIVT (sophisticated invalid
traffic) needs a closer look: tiles no real listing holds, clicks nothing showed, events
whose listing signature is missing, forged, stale or spent. `GigMetrics.invalidTraffic`
reports each code with its kind, read from per-(gig, bucket, reason) rollups.
"""

from __future__ import annotations

CRAWLER = "crawler"  # a crawler, bot or tool user agent, or none
DECLARED_AUTOMATION = "declared_automation"  # navigator.webdriver, or "automated": true
OVER_RATE = "over_rate"  # too many events from one page view, or (without one) one IP address
TOO_MANY_TILES = "too_many_tiles"  # more tiles in one page view than any real listing
CLICK_UNSHOWN = "click_unshown"  # a click nothing showed, too soon after its tile's render
UNSIGNED = "unsigned"  # signing is on and the event carries no signature
BAD_SIGNATURE = "bad_signature"  # forged, altered, or made with an unknown key
STALE_SIGNATURE = "stale_signature"  # signed too long before the event (or in the future)
REPLAYED = "replayed"  # the signed tile or page was already spent by another impression/load

KINDS: dict[str, str] = {
    CRAWLER: "GIVT",
    DECLARED_AUTOMATION: "GIVT",
    OVER_RATE: "GIVT",
    TOO_MANY_TILES: "SIVT",
    CLICK_UNSHOWN: "SIVT",
    UNSIGNED: "SIVT",
    BAD_SIGNATURE: "SIVT",
    STALE_SIGNATURE: "SIVT",
    REPLAYED: "SIVT",
}

def kind_of(reason: str) -> str:
    """`GIVT` or `SIVT` for a reason code (unknown codes, from newer servers, are SIVT)."""
    return KINDS.get(reason, "SIVT")
