"""The collector's fast path: a whole beacon body decoded and checked in one compiled pass.

Nearly every beacon is valid from end to end. msgspec decodes its bytes straight into the
structs below and checks every rule it can express cheaply (lengths, the enums, the position
range, no unknown fields, at most 100 events); a tight loop checks the rest (the alphabets, in
one pass over the whole batch; the times; `imp` and `surface` where required; an order's
amount and the fields only some types may carry) and sets the quick-click flag.

The fast path only ever says "all of it is valid, here are the events" or "not sure": a body
it refuses for any reason (not JSON, an unknown field, one bad event, a lone surrogate, a
number out of range...) goes to the per-event path, `json_body.loads` + `events.parse_batch`,
which says why event by event. So reasons, rejections and "one bad event never spoils its
batch" are exactly the per-event path's; tests/unit/test_events_fast.py checks that both
paths agree on random valid and near-valid bodies.
"""

from __future__ import annotations

import re
import string
from typing import Annotated

import msgspec

from ..model import DAY_MS, Batch, Device, Event, EventType, Surface, Trust
from . import json_body
from .events import (
    MAX_CONTEXT_CHARS,
    MAX_EPOCH_MS,
    MAX_EVENTS_PER_BATCH,
    MAX_ORDER_VALUE,
    MAX_POSITION,
    SIG_PATTERN,
    parse_batch,
    soon_after_render,
)
from .untrusted import is_unicode

# Lengths are checked while decoding; alphabets after, in one pass over all of a batch's
# ids (see `_all_in`): msgspec's `pattern` runs one `re.search` a field, which cost more than
# the rest of the fast path together.
_EventId = Annotated[str, msgspec.Meta(min_length=8, max_length=64)]
_GigId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Token = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Context = Annotated[str, msgspec.Meta(max_length=MAX_CONTEXT_CHARS)]
_Position = Annotated[int, msgspec.Meta(ge=1, le=MAX_POSITION)]
_Variant = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
_Currency = Annotated[str, msgspec.Meta(min_length=3, max_length=3)]
# events.py's alphabets (tests/unit/test_events_fast.py tries every character on both).
_TOKEN_CHARS = (string.ascii_letters + string.digits + "_-").encode()
_GIG_CHARS = _TOKEN_CHARS + b".:"
_sig_ok = re.compile(SIG_PATTERN).fullmatch


class _WireEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    id: _EventId
    type: EventType
    gig: _GigId
    ts: int | float
    seller: _GigId | None = None
    imp: _Token | None = None
    pv: _Token | None = None
    surface: Surface | None = None
    context: _Context | None = None
    position: _Position | None = None
    sig: str | None = None
    variant: _Variant | None = None
    value: int | float | None = None
    currency: _Currency | None = None


class _WireBody(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    # Unknown top-level fields are left to the slow path too: it ignores them, but their
    # values may be anything (nested past any depth limit, numbers orjson cannot hold).
    events: Annotated[list[_WireEvent], msgspec.Meta(max_length=MAX_EVENTS_PER_BATCH)]
    sent_at: int | float | None = None
    automated: bool = False


_decode = msgspec.json.Decoder(_WireBody).decode
_CLICK = EventType.CLICK
_SERVED = EventType.SERVED
_ORDER = EventType.ORDER
_NEEDS_IMP = (EventType.SERVED, EventType.VIEWABLE, EventType.CLICK)
_NEEDS_SURFACE = (EventType.SERVED, EventType.CLICK)
# An Event from all of its fields at once, without NamedTuple's handling of defaults.
_new_event = tuple.__new__


def parse_body(
    body: bytes,
    *,
    received: int,
    oldest_days: int = 7,
    automated: bool = False,
    device: Device | None = None,
) -> Batch:
    """A `/collect` body validated: the fast path when it takes the whole body, else the
    per-event path (`BadBatch` when the body is not JSON or not of the pinned shape)."""
    batch = parse_valid_body(body, received=received, oldest_days=oldest_days,
                             automated=automated, device=device)
    if batch is None:
        batch = parse_batch(json_body.loads(body), received=received, oldest_days=oldest_days,
                            automated=automated, device=device)
    return batch


def parse_valid_body(
    body: bytes,
    *,
    received: int,
    oldest_days: int = 7,
    automated: bool = False,
    device: Device | None = None,
) -> Batch | None:
    """The batch when every event of `body` is valid, else None (nothing is said about why)."""
    try:
        wire = _decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    sent_at = wire.sent_at
    if sent_at is not None and not -MAX_EPOCH_MS < sent_at < MAX_EPOCH_MS:
        return None  # also refuses inf and nan: every comparison with nan is false
    # As parse_batch: the server's crawler flag names the reason, else the client's own.
    reason = "crawler" if automated else "declared_automation" if wire.automated else None
    if automated:
        device = Device.OTHER  # a crawler is no device (events.parse_batch)
    oldest = received - oldest_days * DAY_MS
    events: list[Event] = []
    append = events.append
    tokens: list[str] = []  # every id, imp and pv of the batch
    add_token = tokens.append
    gigs: list[str] = []  # every gig, seller and variant (one alphabet)
    add_gig = gigs.append
    for raw in wire.events:
        event_type = raw.type
        imp = raw.imp
        if imp is None:
            if event_type in _NEEDS_IMP:
                return None
        else:
            add_token(imp)
        surface = raw.surface
        if surface is None and event_type in _NEEDS_SURFACE:
            return None
        variant = raw.variant
        value = raw.value
        currency = raw.currency
        if event_type is _ORDER:
            # An order names no listing fields (events.LISTING_FIELDS), and a value with its
            # currency or neither.
            if not (surface is None and raw.context is None and raw.position is None
                    and variant is None):
                return None
            if value is not None:
                if currency is None or not 0 <= value <= MAX_ORDER_VALUE:
                    return None  # also refuses inf and nan
                if not (currency.isascii() and currency.isalpha() and currency.isupper()):
                    return None
                value = float(value)
            elif currency is not None:
                return None
        else:
            if value is not None or currency is not None:
                return None
            if variant is not None:
                if event_type is not _SERVED:
                    return None
                add_gig(variant)
        event_id = raw.id
        add_token(event_id)
        pv = raw.pv
        if pv is not None:
            add_token(pv)
        gig = raw.gig
        add_gig(gig)
        seller = raw.seller
        if seller is not None:
            add_gig(seller)
        sig = raw.sig
        if sig is not None and not _sig_ok(sig):
            return None
        context = raw.context
        if context is not None and not context.isascii() and not is_unicode(context):
            return None
        raw_ts = raw.ts
        if not -MAX_EPOCH_MS < raw_ts < MAX_EPOCH_MS:
            return None
        # The per-event path's arithmetic, to the bit (a float ts is truncated the same way).
        event_time = received - (sent_at - raw_ts) if sent_at is not None else raw_ts
        if event_time > received:
            return None
        ts = int(event_time)
        if ts < oldest:
            return None
        append(_new_event(Event, (
            event_id, event_type, gig, ts, seller, imp, pv, surface, context or None,
            raw.position, reason is not None, sig, reason, Trust.FIRST, None,
            event_type is _CLICK and soon_after_render(imp, raw_ts), variant, value, currency,
            device,
        )))
    if not (_all_in("".join(tokens), _TOKEN_CHARS) and _all_in("".join(gigs), _GIG_CHARS)):
        return None
    return Batch(tuple(events), ())


def _all_in(text: str, alphabet: bytes) -> bool:
    """Every character of `text` is one of `alphabet` (ASCII): one C pass, no regex."""
    return text.isascii() and not text.encode().translate(None, alphabet)
