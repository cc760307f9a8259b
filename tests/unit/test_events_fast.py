"""The collector's fast path (events_fast.py) agrees with the per-event path (events.py).

Whenever the fast path takes a body, the per-event path would have accepted every event of
it and built the very same `Event`s; whenever the per-event path accepts every event of a
plainly written body, the fast path takes it too. Bodies are written as JSON text, so the
two parsers (msgspec; orjson with its tolerant fallback) are compared as well.
"""

from __future__ import annotations

import json
import re
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from server.edge import json_body
from server.edge.events import (
    EVENT_ID_PATTERN,
    GIG_ID_PATTERN,
    MAX_ORDER_VALUE,
    MAX_POSITION,
    SIG_PATTERN,
    TOKEN_PATTERN,
    crawled,
    parse_batch,
)
from server.edge.events_fast import parse_body, parse_valid_body
from server.errors import BadBatch
from server.model import Batch, Device, Event

RECEIVED = 1_763_800_000_000
SECOND = 1000
DAY = 86_400_000
ID_CHARS = string.ascii_letters + string.digits + "_-"
GIG_CHARS = ID_CHARS + ".:"
SIG_CHARS = ID_CHARS + "."
# Characters just outside the alphabets, and some that look like them.
ODD_CHARS = ".: /\n\t\x00\x7fé\u0130\u212a\uff41🎨\u202e+=,"


class Raw(str):
    """JSON text written as is (numbers and escapes the json module would not write)."""


class Obj(list[tuple[str, Any]]):
    """A JSON object as written: its keys in order, repeats allowed."""


def dump(value: Any, escape: bool = False) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Obj):
        return "{" + ",".join(f"{dump(k, escape)}:{dump(v, escape)}" for k, v in value) + "}"
    if isinstance(value, dict):
        return dump(Obj(value.items()), escape)
    if isinstance(value, list):
        return "[" + ",".join(dump(v, escape) for v in value) + "]"
    if isinstance(value, str) and escape:
        return '"' + "".join(f"\\u{ord(c):04x}" if ord(c) < 0x10000 else c for c in value) + '"'
    return json.dumps(value, ensure_ascii=False)


MISSING = object()


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True about once in `n` draws (not 0: hypothesis draws small numbers more often)."""
    return st.integers(1, n).map(lambda k: k == n // 2 + 1)

OTHER_VALUES = st.sampled_from([
    None, True, False, 0, 1, -1, 1.0, 1.5, "", "x", "1", [], {}, ["abcdefgh"],
    Raw("1e400"), Raw("-1e400"), Raw("123456789012345678901234567890"), Raw("1E2"),
    Raw('"\\ud800"'), Raw('"abcdefgh\\ud800"'), Raw('"\\udfff\\ud800"'), Raw("-0"), Raw("-0.0"),
])


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, rest = divmod(n, 36)
        out = digits[rest] + out
    return out


def texts(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[str]:
    """Valid text of `alphabet`, `lo` to `hi` long, the bounds often."""
    return st.one_of(st.text(alphabet, min_size=lo, max_size=min(hi, 24)),
                     st.sampled_from([lo, hi]).flatmap(
                         lambda n: st.text(alphabet, min_size=n, max_size=n)))


def near_texts(alphabet: str, lo: int, hi: int) -> st.SearchStrategy[Any]:
    """Text just outside the rule: a length off by one, an odd character, another kind."""
    return st.one_of(
        st.sampled_from([max(lo - 1, 0), hi + 1]).flatmap(
            lambda n: st.text(alphabet, min_size=n, max_size=n)),
        st.tuples(texts(alphabet, lo, hi), st.sampled_from(ODD_CHARS), st.integers(0, hi)).map(
            lambda t: t[0][: t[2]] + t[1] + t[0][t[2]:]),
        OTHER_VALUES,
    )


CONTEXTS = st.one_of(
    st.just(""), st.text(max_size=20), st.text(st.characters(codec="utf-8"), max_size=128),
    st.sampled_from(["logo design", "x" * 128, "é" * 128, "🎨" * 128, "q\x00\n\"\\"]),
)
BAD_CONTEXTS = st.one_of(st.sampled_from(["x" * 129, "🎨" * 129]), OTHER_VALUES)
TIME_SPELLINGS = st.sampled_from(["int", "int", "float", "point0", "exp"])


def spelled(ms: float, how: str) -> Any:
    """A time in one of the ways JSON may write it."""
    if how == "float":
        return ms + 0.25
    if how == "point0":
        return Raw(f"{int(ms)}.0")
    if how == "exp":
        return Raw(f"{int(ms) / 1e12}e12")
    return int(ms)


BAD_TIMES = st.one_of(
    st.sampled_from([10**15 - 1, 10**15, -(10**15) + 1, -(10**15), 2**63, 2**64, 1e15, 0, -1]),
    OTHER_VALUES,
)
# How long before it was sent an event happened, in ms: 7 days is the oldest accepted.
GOOD_DELAYS = st.one_of(st.integers(0, 7 * DAY), st.sampled_from([0, 7 * DAY, 1, 7 * DAY - 1]))
BAD_DELAYS = st.sampled_from([-1, -SECOND, 7 * DAY + 1, 8 * DAY, 400 * DAY, 400 * DAY + 1])
FIELDS = ("id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts",
          "sig", "variant", "value", "currency")
TYPES = ("served", "viewable", "click", "view", "order")
AMOUNTS = st.one_of(
    st.floats(0, MAX_ORDER_VALUE), st.integers(0, MAX_ORDER_VALUE),
    st.sampled_from([0, 0.0, Raw("-0"), Raw("-0.0"), 49.99, MAX_ORDER_VALUE, Raw("1e12"),
                     Raw("4999e-2")]),
)
BAD_AMOUNTS = st.one_of(
    st.sampled_from([-1, -0.01, MAX_ORDER_VALUE + 1, Raw("1e13"), Raw("1e400"), Raw("-1e400"),
                     "5"]),
    OTHER_VALUES,
)
CURRENCIES = st.text(string.ascii_uppercase, min_size=3, max_size=3)
BAD_CURRENCIES = st.one_of(
    st.sampled_from(["usd", "Usd", "US", "USDT", "ÜSD", "U1D", "\u0130SD", "U-D", ""]),
    st.text(min_size=3, max_size=3),
)


@st.composite
def wire_events(
    draw: st.DrawFn, client_now: int, types: tuple[str, ...] = TYPES, breaks: int = 4
) -> tuple[Obj, bool]:
    """An event as written (mostly valid, else one or two fields spoiled, or about one in
    `breaks` an order or variant rule broken), and whether it is written plainly (no
    repeated keys)."""
    type_ = draw(st.sampled_from(types))
    maybe = st.sampled_from([MISSING, MISSING, None])
    fields: dict[str, Any] = {
        "id": draw(texts(ID_CHARS, 8, 64)),
        "type": type_,
        "gig": draw(texts(GIG_CHARS, 1, 64)),
        "seller": draw(st.one_of(maybe, texts(GIG_CHARS, 1, 64))),
        "pv": draw(st.one_of(maybe, texts(ID_CHARS, 1, 64))),
        "context": draw(st.one_of(maybe, CONTEXTS)),
        "position": draw(st.one_of(maybe, st.integers(1, 60), st.just(MAX_POSITION))),
        "sig": draw(st.one_of(maybe, maybe, texts(SIG_CHARS, 1, 160))),
    }
    delay = draw(GOOD_DELAYS)
    # Snippet-style impression ids (the render time in base 36 first) make quick clicks.
    rendered = client_now - delay - draw(st.integers(-600, 600))
    snippet_imp = st.text(ID_CHARS, min_size=16, max_size=20).map(
        lambda rest: _base36(rendered) + rest)
    imp = st.one_of(texts(ID_CHARS, 1, 64), snippet_imp)
    surface = st.sampled_from(["search", "category", "homepage", "user_page", "other"])
    fields["imp"] = draw(imp if type_ not in ("view", "order") else st.one_of(maybe, imp))
    needs_surface = type_ in ("served", "click")
    fields["surface"] = draw(surface if needs_surface else st.one_of(maybe, surface))
    if type_ == "served":
        fields["variant"] = draw(st.one_of(maybe, texts(GIG_CHARS, 1, 32)))
    if type_ == "order":  # an order names no listing fields; a value with its currency
        for name in ("surface", "context", "position"):
            fields[name] = MISSING
        if draw(st.booleans()):
            fields["value"], fields["currency"] = draw(AMOUNTS), draw(CURRENCIES)
            if draw(one_in(4)):
                fields["currency"] = draw(BAD_CURRENCIES)
    fields["ts"] = spelled(client_now - delay, draw(TIME_SPELLINGS))
    if draw(one_in(3)):
        for name in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2)):
            fields[name] = draw(_spoiled(name, client_now))
    elif draw(one_in(breaks)):
        fields.update(draw(_broken_rule(type_)))
    pairs = draw(st.permutations([(k, v) for k, v in fields.items() if v is not MISSING]))
    if draw(one_in(20)):
        pairs.append((draw(st.sampled_from(["extra", "Type", "sent_at", "id "])),
                      draw(OTHER_VALUES)))
    plain = True
    if pairs and draw(one_in(20)):
        key, _ = draw(st.sampled_from(pairs))
        pairs.insert(draw(st.integers(0, len(pairs))), (key, draw(OTHER_VALUES)))
        plain = False
    return Obj(pairs), plain


def _broken_rule(type_: str) -> st.SearchStrategy[dict[str, Any]]:
    """One rule of orders and variants broken with otherwise valid values: what a field-wise
    spoil rarely hits alone."""
    if type_ == "order":
        return st.one_of(
            st.fixed_dictionaries({"value": AMOUNTS, "currency": st.just(MISSING)}),
            st.fixed_dictionaries({"value": st.just(MISSING), "currency": CURRENCIES}),
            st.fixed_dictionaries({"value": AMOUNTS, "currency": BAD_CURRENCIES}),
            st.fixed_dictionaries({"value": BAD_AMOUNTS, "currency": CURRENCIES}),
            st.fixed_dictionaries({"surface": st.sampled_from(["search", "other"])}),
            st.fixed_dictionaries({"context": CONTEXTS}),
            st.fixed_dictionaries({"position": st.integers(1, 60)}),
            st.fixed_dictionaries({"variant": texts(GIG_CHARS, 1, 32)}),
        )
    breaks = [st.fixed_dictionaries({"value": AMOUNTS, "currency": CURRENCIES}),
              st.fixed_dictionaries({"value": AMOUNTS}),
              st.fixed_dictionaries({"currency": CURRENCIES})]
    variants = near_texts(GIG_CHARS, 1, 32) if type_ == "served" else texts(GIG_CHARS, 1, 32)
    return st.one_of(*breaks, st.fixed_dictionaries({"variant": variants}))


def _spoiled(name: str, client_now: int) -> st.SearchStrategy[Any]:
    missing = st.just(MISSING)
    if name == "id":
        return st.one_of(near_texts(ID_CHARS, 8, 64), missing)
    if name in ("gig", "seller"):
        return st.one_of(near_texts(GIG_CHARS, 1, 64), missing)
    if name in ("imp", "pv"):
        return st.one_of(near_texts(ID_CHARS, 1, 64), missing)
    if name == "sig":
        return near_texts(SIG_CHARS, 1, 160)
    if name == "variant":  # a valid one spoils events other than served
        return st.one_of(near_texts(GIG_CHARS, 1, 32), texts(GIG_CHARS, 1, 32))
    if name == "value":  # a valid one spoils events other than orders, and one alone
        return st.one_of(BAD_AMOUNTS, AMOUNTS, missing)
    if name == "currency":
        return st.one_of(BAD_CURRENCIES, CURRENCIES, OTHER_VALUES, missing)
    if name == "type":
        return st.one_of(st.sampled_from([*TYPES, "Served", "", " view", "orders"]),
                         OTHER_VALUES, missing)
    if name == "surface":
        return st.one_of(st.sampled_from(["Search", "web", "", "search"]), OTHER_VALUES, missing)
    if name == "context":  # any context spoils an order
        return st.one_of(BAD_CONTEXTS, CONTEXTS)
    if name == "position":  # a valid one spoils an order
        return st.one_of(st.sampled_from([0, -1, MAX_POSITION + 1, 2**64, 1.0, 2.5, 1]),
                         OTHER_VALUES)
    return st.one_of(  # ts
        st.tuples(BAD_DELAYS, TIME_SPELLINGS).map(lambda t: spelled(client_now - t[0], t[1])),
        BAD_TIMES, missing)


SENT_AT = st.one_of(st.just(MISSING), st.none(),
                    st.integers(RECEIVED - 30 * DAY, RECEIVED + 30 * DAY),
                    st.floats(RECEIVED - DAY, RECEIVED + DAY))


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A /collect body as bytes, and whether the fast path should take all it may."""
    sent_at = draw(BAD_TIMES if draw(one_in(10)) else SENT_AT)
    client_now = int(sent_at) if isinstance(sent_at, int | float) else RECEIVED
    if not RECEIVED - 40 * DAY < client_now < RECEIVED + 40 * DAY:
        client_now = RECEIVED
    drawn = draw(st.lists(wire_events(client_now), max_size=6))
    events: Any = [event for event, _ in drawn]
    plain = all(p for _, p in drawn)
    if draw(one_in(30)):  # not a list of events, or one that is not an event
        events = draw(st.one_of(OTHER_VALUES, st.just([*events, draw(OTHER_VALUES)])))
    pairs: list[tuple[str, Any]] = [("events", events)]
    if sent_at is not MISSING:
        pairs.append(("sent_at", sent_at))
    flagged = draw(OTHER_VALUES if draw(one_in(10))
                   else st.sampled_from([MISSING, True, False]))
    if flagged is not MISSING:
        pairs.append(("automated", flagged))
    if draw(one_in(30)):
        pairs.append(("extra", draw(OTHER_VALUES)))
        plain = False
    text = dump(Obj(draw(st.permutations(pairs))), escape=draw(one_in(10)))
    body = text.encode("utf-8", "surrogatepass")
    if draw(one_in(30)):  # a byte changed, cut or added
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(st.binary(max_size=2)) + body[at + draw(st.integers(0, 2)):]
        plain = False
    return body, plain


def slow_path(body: bytes, **kw: Any) -> Batch | str:
    try:
        return parse_batch(json_body.loads(body), received=RECEIVED, **kw)
    except BadBatch as exc:
        return f"BadBatch: {exc}"


def typed(batch: Batch) -> list[list[tuple[type, Any]]]:
    """Events as (type, value) pairs: 1, 1.0 and True are equal, but not the same here."""
    return [[(type(v), v) for v in event] for event in batch.events]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies(), st.booleans(), st.sampled_from([7, 400]), st.sampled_from([None, *Device]))
def test_the_fast_path_takes_exactly_the_bodies_the_per_event_path_accepts_whole(
    written: tuple[bytes, bool], crawler: bool, oldest_days: int, device: Device | None
) -> None:
    body, plain = written
    assert_both_paths_agree(
        body, plain, {"automated": crawler, "oldest_days": oldest_days, "device": device}
    )


@settings(max_examples=300, deadline=None)
@given(st.tuples(st.sampled_from(TYPES), st.sampled_from(TYPES)).flatmap(
    lambda types: wire_events(RECEIVED, types, breaks=2)), st.sampled_from([None, *Device]))
def test_each_order_and_variant_rule_is_judged_alike_on_both_paths(
    written: tuple[Obj, bool], device: Device | None
) -> None:
    # One event a body, its rules often broken one at a time: in mixed batches a broken
    # rule rarely stands alone, so a fast path that missed it would seldom be caught.
    raw, plain = written
    assert_both_paths_agree(_body(raw), plain, {"device": device})


def assert_both_paths_agree(body: bytes, plain: bool, kw: dict[str, Any]) -> None:
    fast = parse_valid_body(body, received=RECEIVED, **kw)
    slow = slow_path(body, **kw)
    event("fast" if fast is not None else "slow: " + (
        "bad body" if isinstance(slow, str) else "rejections" if slow.rejections else "valid"))
    if fast is not None:
        assert isinstance(slow, Batch), slow
        assert slow.rejections == ()
        assert typed(fast) == typed(slow)
        assert fast == slow
    elif plain and isinstance(slow, Batch):
        # Plainly written, valid to the per-event path: the fast path must not miss it.
        assert slow.rejections or not slow.events, f"fast path refused {body!r}"
    try:
        either = parse_body(body, received=RECEIVED, **kw)
    except BadBatch as exc:
        either_text: Batch | str = f"BadBatch: {exc}"
    else:
        either_text = either
        assert isinstance(slow, Batch) and typed(either) == typed(slow)
    assert either_text == slow


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TYPES), max_size=100),
       st.none() | st.integers(RECEIVED - DAY, RECEIVED + DAY), st.booleans())
def test_every_batch_the_snippet_sends_takes_the_fast_path(
    types: list[str], sent_at: int | None, flagged: bool
) -> None:
    client_now = RECEIVED if sent_at is None else sent_at
    events = [_snippet_event(i, t, client_now) for i, t in enumerate(types)]
    body = json.dumps({"sent_at": sent_at, "events": events, "automated": flagged}).encode()
    fast = parse_valid_body(body, received=RECEIVED)
    assert fast is not None
    assert typed(fast) == typed(slow_path(body))  # type: ignore[arg-type]


def _snippet_event(i: int, type_: str, client_now: int) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": f"{_base36(client_now)}-evt-{i}", "type": type_,
                           "gig": f"g-{i}.v2:x", "ts": client_now - 1000 - i}
    if type_ != "view":
        raw["imp"] = f"{_base36(client_now - 1200)}{'a' * 16}{i}"
    if type_ in ("served", "click"):
        raw["surface"] = "search"
    if type_ == "served":
        raw.update(pv="p-1", context="logo design", position=i + 1, variant="thumb.v2:B")
    if type_ == "order":
        raw.update(id=f"ORD-{i:08d}", value=49.99, currency="EUR")
    if type_ == "view":
        raw.update(pv=f"p-{i}", seller="shop.eu:alice", sig="k1.abc.def.0.ghi")
    return raw


def _body(*events: Any, **top: Any) -> bytes:
    return dump(Obj([("events", list(events)), *top.items()])).encode("utf-8", "surrogatepass")


VALID = {"id": "evt-0001", "type": "served", "gig": "g-1", "imp": "i-1", "surface": "search",
         "ts": RECEIVED - SECOND}
ORDER = {"id": "ORD-00001", "type": "order", "gig": "g-1", "imp": "i-1", "ts": RECEIVED - SECOND}


@pytest.mark.parametrize(
    "body",
    [
        _body({**VALID, "id": "abcdefgh\n"}),  # `$` in a pattern would let this through
        _body({**VALID, "gig": "g-1\n"}),
        _body({**VALID, "context": Raw('"logo \\ud800"')}),
        _body(Obj([*VALID.items(), ("id", "x")])),  # the last of repeated keys counts
        _body(Obj([("id", "x"), *VALID.items()])),
        _body(VALID, extra=Raw("1e400")),  # unknown top-level field: ignored, slowly
        _body(VALID, extra=Raw("[" * 3000 + "]" * 3000)),
        _body(*[{**VALID, "id": f"evt-{i:04d}"} for i in range(101)]),
        _body({**VALID, "ts": True}),
        _body({**VALID, "position": 1.0}),
        _body({**VALID, "ts": Raw("1e400")}),
        _body({**VALID, "type": "click", "imp": "mhx1abc0" + "a" * 16}),
        _body({**VALID, "variant": "B"}),
        _body({**VALID, "type": "click", "variant": "B"}),
        _body({**VALID, "variant": "B" * 33}),
        _body({**ORDER, "value": 5, "currency": "EUR"}),
        _body({**ORDER, "value": 5, "currency": "eur"}),
        _body({**ORDER, "value": 5, "currency": "E1R"}),
        _body({**ORDER, "value": 5}),
        _body({**ORDER, "currency": "EUR"}),
        _body({**ORDER, "value": -0.01, "currency": "EUR"}),
        _body({**ORDER, "value": Raw("1e400"), "currency": "EUR"}),
        _body({**ORDER, "value": MAX_ORDER_VALUE + 1, "currency": "EUR"}),
        _body({**ORDER, "value": True, "currency": "EUR"}),
        _body({**ORDER, "position": 1}),
        _body({**ORDER, "surface": "search"}),
        _body({**ORDER, "context": ""}),
        _body({**ORDER, "variant": "B"}),
        _body({**VALID, "value": 5, "currency": "EUR"}),
        _body(VALID, sent_at=Raw("1e400")),
        _body(VALID, automated=1),
        b"\xef\xbb\xbf" + _body(VALID),
        _body(VALID) + b"x",
        b'{"events": []}',
    ],
)
def test_edge_bodies_get_the_per_event_paths_answer(body: bytes) -> None:
    try:
        answer: Batch | str = parse_body(body, received=RECEIVED)
    except BadBatch as exc:
        answer = f"BadBatch: {exc}"
    assert answer == slow_path(body)


def test_every_ascii_character_is_judged_as_the_per_event_path_judges_it() -> None:
    for code in range(128):
        assert_alphabets_agree(chr(code))


@settings(deadline=None)
@example(chr(0x10FFFF))
@given(st.characters())
def test_any_character_is_judged_as_the_per_event_path_judges_it(char: str) -> None:
    assert_alphabets_agree(char)


def assert_alphabets_agree(char: str) -> None:
    for pattern, size in ((EVENT_ID_PATTERN, 8), (GIG_ID_PATTERN, 1), (TOKEN_PATTERN, 1),
                          (SIG_PATTERN, 1)):
        text = char * size
        fast = parse_valid_body(_body({**VALID, **_field_for(pattern, text)}), received=RECEIVED)
        assert (fast is not None) is bool(re.fullmatch(pattern, text)), (pattern, char)


def _field_for(pattern: str, text: str) -> dict[str, str]:
    return {EVENT_ID_PATTERN: {"id": text}, GIG_ID_PATTERN: {"gig": text},
            TOKEN_PATTERN: {"imp": text}, SIG_PATTERN: {"sig": text}}[pattern]


def test_an_event_of_the_fast_path_is_an_event() -> None:
    batch = parse_valid_body(_body(VALID), received=RECEIVED)
    assert batch is not None
    (event,) = batch.events
    assert type(event) is Event
    assert event == Event("evt-0001", event.type, "g-1", RECEIVED - SECOND, imp="i-1",
                          surface=event.surface)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_marking_a_parsed_batch_as_crawled_equals_parsing_it_as_a_crawlers(
    written: tuple[bytes, bool],
) -> None:
    body, _ = written
    try:
        as_crawler = parse_body(body, received=RECEIVED, automated=True)
    except BadBatch:
        return
    marked = crawled(parse_body(body, received=RECEIVED))
    assert typed(marked) == typed(as_crawler)
    assert marked == as_crawler
