"""The edge: raw beacon JSON becomes frozen, typed events or rejections with a reason.

Nothing downstream re-checks an `Event`; everything that can be wrong with one is caught here.
"""

from __future__ import annotations

import math
import re
from typing import Any, NoReturn

from ..errors import BadBatch
from ..model import (
    DAY_MS,
    SURFACES,
    TYPES,
    Batch,
    Device,
    Event,
    EventType,
    Invalid,
    Rejection,
    Trust,
)
from .untrusted import is_unicode, json_kind, raw_copy, shown

MAX_EVENTS_PER_BATCH = 100
MAX_BODY_BYTES = 64 * 1024
MAX_CONTEXT_CHARS = 128
MAX_POSITION = 1_000_000

# The wire alphabets, matched whole (events_fast.py checks the same patterns).
EVENT_ID_PATTERN = r"[A-Za-z0-9_-]{8,64}"
GIG_ID_PATTERN = r"[A-Za-z0-9_.:-]{1,64}"
TOKEN_PATTERN = r"[A-Za-z0-9_-]{1,64}"
# A signature token (server/edge/signing.py) is short; anything longer is not one.
SIG_PATTERN = r"[A-Za-z0-9_.-]{1,160}"
VARIANT_PATTERN = r"[A-Za-z0-9_.:-]{1,32}"
# ISO 4217's form; whether a code is assigned is not checked (the list changes, and an
# unknown code only names its own revenue row).
CURRENCY_PATTERN = r"[A-Z]{3}"
_EVENT_ID = re.compile(EVENT_ID_PATTERN)
GIG_ID = re.compile(GIG_ID_PATTERN)
_TOKEN = re.compile(TOKEN_PATTERN)
_SIG = re.compile(SIG_PATTERN)
_VARIANT = re.compile(VARIANT_PATTERN)
_CURRENCY = re.compile(CURRENCY_PATTERN)
# An order's amount; the bound keeps sums of many orders within 64-bit integers of
# thousandths (the finest unit of ISO 4217 currencies in use), as the stores may keep them.
MAX_ORDER_VALUE = 10**12


EVENT_FIELDS = frozenset({
    "id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts", "sig",
    "variant", "value", "currency",
})
# A click this soon after its tile was rendered (the snippet's impression ids start with
# that time) is faster than a person can see and click: with no showing before it, it is
# invalid traffic (`click_unshown`).
CLICK_MIN_MS = 500
_NEEDS_IMP = frozenset({EventType.SERVED, EventType.VIEWABLE, EventType.CLICK})
_NEEDS_SURFACE = frozenset({EventType.SERVED, EventType.CLICK})
_TYPE_NAMES = ", ".join(TYPES)
# What a listing said about its tile. An order has none of its own: it counts under its
# impression's surface, context and variant (else surface other), so naming them on the
# order could only contradict the listing, and is refused rather than silently ignored.
LISTING_FIELDS = ("surface", "context", "position", "variant")


class _Reject(Exception):
    pass


def parse_batch(
    body: Any,
    *,
    received: int,
    oldest_days: int = 7,
    automated: bool = False,
    device: Device | None = None,
) -> Batch:
    """Validate a decoded `/collect` body; raise `BadBatch` when its shape is wrong.
    `device` is what the request's User-Agent says (edge/devices.py)."""
    if not isinstance(body, dict):
        raise BadBatch(
            f"the body must be a JSON object like {{\"events\": [...]}}, not {json_kind(body)}."
        )
    if "events" not in body:
        raise BadBatch('the body has no "events" list: send {"sent_at": ms, "events": [...]}.')
    sent_at = body.get("sent_at")
    if sent_at is not None and not _is_number(sent_at):
        raise BadBatch(f'"sent_at" {_not_epoch_ms(sent_at)}.')
    flagged = body.get("automated", False)
    if not isinstance(flagged, bool):
        raise BadBatch(f'"automated" must be true or false, not {json_kind(flagged)}.')
    return parse_events(
        body["events"],
        sent_at=sent_at,
        received=received,
        oldest_days=oldest_days,
        automated=automated or flagged,
        invalid="crawler" if automated else "declared_automation" if flagged else None,
        device=Device.OTHER if automated else device,
    )


def parse_events(
    raw_events: Any,
    *,
    sent_at: float | None,
    received: int,
    oldest_days: int = 7,
    automated: bool = False,
    invalid: str | None = None,
    device: Device | None = None,
) -> Batch:
    """Validate a list of raw events one by one; one bad event never spoils the rest.
    Automated events are invalid traffic, `invalid` says why (default: declared)."""
    if not isinstance(raw_events, list):
        raise BadBatch(f'"events" must be a list of event objects, not {json_kind(raw_events)}.')
    if len(raw_events) > MAX_EVENTS_PER_BATCH:
        raise BadBatch(
            f"a batch holds at most {MAX_EVENTS_PER_BATCH} events; this one has "
            f"{len(raw_events)}: split it into several requests."
        )
    if sent_at is not None and not _is_number(sent_at):
        raise BadBatch(f"sentAt {_not_epoch_ms(sent_at)}.")
    oldest = received - oldest_days * DAY_MS
    events: list[Event] = []
    rejections: list[Rejection] = []
    reason = (invalid or "declared_automation") if automated else None
    for index, raw in enumerate(raw_events):
        try:
            event = _parse_event(raw, sent_at, received, oldest, oldest_days, automated, device)
            events.append(event if reason is None else event._replace(invalid=reason))
        except _Reject as why:
            rejections.append(Rejection(index, str(why), raw_copy(raw), received))
    return Batch(tuple(events), tuple(rejections))


def _parse_event(
    raw: Any,
    sent_at: float | None,
    received: int,
    oldest: int,
    oldest_days: int,
    automated: bool,
    device: Device | None,
) -> Event:
    if type(raw) is not dict:
        raise _Reject(f"an event must be a JSON object, not {json_kind(raw)}")
    if not EVENT_FIELDS.issuperset(raw):
        unknown = sorted(str(k) for k in raw if k not in EVENT_FIELDS)
        raise _Reject(
            f"unknown field {shown(unknown[0])}; "
            f"an event has only {', '.join(sorted(EVENT_FIELDS))}"
        )
    get = raw.get
    event_id = get("id")
    if type(event_id) is not str or not _EVENT_ID.fullmatch(event_id):
        _bad_text("id", event_id, _ID_RULE)
    type_name = get("type")
    event_type = TYPES.get(type_name) if type(type_name) is str else None
    if event_type is None:
        raise _Reject(f"type: {shown(type_name)} is not one of {_TYPE_NAMES}")
    gig = get("gig")
    if type(gig) is not str or not GIG_ID.fullmatch(gig):
        _bad_text("gig", gig, GIG_RULE)
    seller = get("seller")
    if seller is not None and (type(seller) is not str or not GIG_ID.fullmatch(seller)):
        _bad_text("seller", seller, GIG_RULE)
    imp = get("imp")
    if imp is not None and (type(imp) is not str or not _TOKEN.fullmatch(imp)):
        _bad_text("imp", imp, _TOKEN_RULE)
    pv = get("pv")
    if pv is not None and (type(pv) is not str or not _TOKEN.fullmatch(pv)):
        _bad_text("pv", pv, _TOKEN_RULE)
    if imp is None and event_type in _NEEDS_IMP:
        raise _Reject(f"imp: required on a {event_type} event (the impression id)")
    surface_name = get("surface")
    surface = None
    if surface_name is not None:
        surface = SURFACES.get(surface_name) if type(surface_name) is str else None
        if surface is None:
            names = ", ".join(SURFACES)
            raise _Reject(f"surface: {shown(surface_name)} is not one of {names}")
    elif event_type in _NEEDS_SURFACE:
        raise _Reject(f"surface: required on a {event_type} event")
    context = get("context")
    if context is not None:
        if type(context) is not str:
            raise _Reject(f"context: must be text, not {json_kind(context)}")
        if len(context) > MAX_CONTEXT_CHARS:
            raise _Reject(
                f"context: {len(context)} characters is over the limit of {MAX_CONTEXT_CHARS}"
            )
        if not context.isascii() and not is_unicode(context):
            raise _Reject("context: not valid Unicode text (it holds a lone surrogate)")
    position = get("position")
    if position is not None and (type(position) is not int or not 1 <= position <= MAX_POSITION):
        raise _Reject(f"position: must be a whole number from 1 to {MAX_POSITION}")
    raw_ts = get("ts")
    ts = _event_time(raw_ts, sent_at, received)
    if ts < oldest:
        raise _Reject(f"ts: the event is older than {oldest_days} days")
    sig = get("sig")
    if sig is not None and (type(sig) is not str or not _SIG.fullmatch(sig)):
        _bad_text("sig", sig, "a signature token from data-gm-sig (up to 160 characters)")
    if event_type is EventType.ORDER:
        for name in LISTING_FIELDS:
            if get(name) is not None:
                raise _Reject(
                    f"{name}: not on an order, which counts under the {name} of its "
                    "impression (imp), or for the gig alone without one"
                )
    variant = get("variant")
    if variant is not None:
        if type(variant) is not str or not _VARIANT.fullmatch(variant):
            _bad_text("variant", variant, _VARIANT_RULE)
        if event_type is not EventType.SERVED:
            # The tile's served event alone names its variant, as the snippet sends it: a
            # variant on a later event could disagree with it and would be dropped unseen,
            # so the mistake is shown to its sender instead of hidden in the numbers.
            raise _Reject(
                f"variant: only a served event names the tile's variant; a {event_type} "
                "counts under the variant of its impression's served event"
            )
    value, currency = _order_amount(get("value"), get("currency"), event_type)
    quick = event_type is EventType.CLICK and soon_after_render(imp, raw_ts)
    return Event(
        event_id, event_type, gig, ts, seller, imp, pv, surface, context or None, position,
        automated, sig, None, Trust.FIRST, None, quick, variant, value, currency, device,
    )


def _order_amount(
    value: Any, currency: Any, event_type: EventType
) -> tuple[float | None, str | None]:
    """An order's (value, currency): both or neither, each checked; None on other events."""
    if value is None and currency is None:
        return None, None
    if event_type is not EventType.ORDER:
        name = "value" if value is not None else "currency"
        raise _Reject(f"{name}: only an order event has a value and currency")
    if value is None:
        raise _Reject(f"value: required with currency ({_VALUE_RULE})")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Reject(f"value: must be {_VALUE_RULE}, not {json_kind(value)}")
    # Compared before any conversion: a 400-digit integer must not overflow float().
    if not 0 <= value <= MAX_ORDER_VALUE:
        problem = "is negative" if value < 0 else "is too large"  # inf from 1e400 too
        raise _Reject(f"value: {shown(value)} {problem}; send {_VALUE_RULE}")
    if currency is None:
        raise _Reject(f"currency: required with value ({_CURRENCY_RULE})")
    if type(currency) is not str or not _CURRENCY.fullmatch(currency):
        _bad_text("currency", currency, _CURRENCY_RULE)
    return float(value), currency


def soon_after_render(imp: Any, raw_ts: Any) -> bool:
    """True when a snippet impression id (it starts with the render time, 8 base-36 digits,
    the click's own clock) says the click came less than CLICK_MIN_MS after the tile."""
    try:
        made = int(imp[:8], 36)
    except (TypeError, ValueError):
        return False
    return len(imp) >= 24 and -CLICK_MIN_MS < raw_ts - made < CLICK_MIN_MS


def _event_time(ts: Any, sent_at: float | None, received: int) -> int:
    if ts is None:
        raise _Reject("ts: required (epoch milliseconds when the event happened)")
    if not (type(ts) is int and -MAX_EPOCH_MS < ts < MAX_EPOCH_MS) and not _is_number(ts):
        raise _Reject(f"ts: {_not_epoch_ms(ts)}")
    # With sent_at, only the client's own clock difference is trusted, not its absolute time.
    event_time = received - (sent_at - ts) if sent_at is not None else ts
    if event_time > received:
        raise _Reject("ts: the event is later than the time it was received")
    return int(event_time)


_ID_RULE = "8 to 64 characters of A-Z a-z 0-9 _ -"
GIG_RULE = "1 to 64 characters of A-Z a-z 0-9 _ . : -"
_TOKEN_RULE = "1 to 64 characters of A-Z a-z 0-9 _ -"
_VARIANT_RULE = "1 to 32 characters of A-Z a-z 0-9 _ . : -"
_VALUE_RULE = f"the order's amount in its currency, from 0 to {MAX_ORDER_VALUE:,} (like 49.99)"
_CURRENCY_RULE = "an ISO 4217 currency code of three capital letters, like USD"


def _bad_text(name: str, value: Any, rule: str) -> NoReturn:
    if value is None:
        raise _Reject(f"{name}: required ({rule})")
    raise _Reject(f"{name}: {shown(value)} is not {rule}")


MAX_EPOCH_MS = 10**15
_EPOCH_MS_RULE = "epoch milliseconds, a number between -10^15 and 10^15 (like 1763800005000)"


def _not_epoch_ms(value: Any) -> str:
    """Why `value` is not a usable epoch-milliseconds time, and what is."""
    if json_kind(value) != "a number":
        return f"must be {_EPOCH_MS_RULE}, not {json_kind(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"is a number too large for any time: send {_EPOCH_MS_RULE}"
    return f"{shown(value)} is out of range: send {_EPOCH_MS_RULE}"


def _is_number(value: Any) -> bool:
    # int and float compare exactly, so a 400-digit int is refused here instead of
    # overflowing math.isfinite (JSON allows integers of any length).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return abs(value) < 1e15 and (isinstance(value, int) or math.isfinite(value))


def event_to_wire(event: Event) -> dict[str, Any]:
    """The JSON form of an event as the snippet would send it (used by tests and benches)."""
    out: dict[str, Any] = {"id": event.id, "type": event.type.value, "gig": event.gig}
    for name in ("seller", "imp", "pv", "context", "position", "sig", "variant", "value",
                 "currency"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    if event.surface is not None:
        out["surface"] = event.surface.value
    out["ts"] = event.ts
    return out


def crawled(batch: Batch) -> Batch:
    """The batch as a crawler's: every event kept as invalid traffic (`crawler`), whatever the
    client declared, of no device, exactly as `parse_batch(..., automated=True)` makes it."""
    events = tuple(
        e._replace(automated=True, invalid=Invalid.CRAWLER, device=Device.OTHER)
        for e in batch.events
    )
    return Batch(events, batch.rejections)
