"""SPEC §3 at the edge: raw beacon JSON becomes a frozen `Event` or a `Rejection` with a reason."""

from __future__ import annotations

import json
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.edge.events import MAX_ORDER_VALUE, event_to_wire, parse_batch, parse_events
from server.errors import BadBatch
from server.model import Batch, Device, Event, EventType, Rejection, Surface

RECEIVED = 1_763_800_000_000
SECOND = 1000
HOUR = 3_600_000
DAY = 86_400_000

ID_CHARS = string.ascii_letters + string.digits + "_-"
GIG_CHARS = ID_CHARS + ".:"


def wire(type_: str = "served", **fields: object) -> dict[str, object]:
    """A valid raw event of `type_` (ts one second before receipt), with `fields` changed."""
    raw: dict[str, object] = {"id": "evt-0001", "type": type_, "gig": "g-123"}
    raw["ts"] = RECEIVED - SECOND
    if type_ in ("served", "viewable", "click"):
        raw["imp"] = "i-1"
    if type_ in ("served", "click"):
        raw["surface"] = "search"
    if type_ == "view":
        raw["pv"] = "p-1"
    for name, value in fields.items():
        if value is _DROP:
            raw.pop(name, None)
        else:
            raw[name] = value
    return raw


_DROP = object()


def parse_one(raw: object, *, sent_at: float | None = None, **kw: int) -> Event | Rejection:
    batch = parse_events([raw], sent_at=sent_at, received=RECEIVED, **kw)
    assert len(batch.events) + len(batch.rejections) == 1
    return batch.events[0] if batch.events else batch.rejections[0]


def accepted(raw: object, **kw: object) -> Event:
    result = parse_one(raw, **kw)  # type: ignore[arg-type]
    assert isinstance(result, Event), f"expected acceptance, got {result}"
    return result


def rejected(raw: object, field: str | None = None, **kw: object) -> Rejection:
    result = parse_one(raw, **kw)  # type: ignore[arg-type]
    assert isinstance(result, Rejection), f"expected a rejection, got {result}"
    if field is not None:
        assert result.reason.startswith(f"{field}:"), result.reason
    return result


# --- a valid event ------------------------------------------------------------------------


@pytest.mark.parametrize("type_", ["served", "viewable", "click", "view"])
def test_a_valid_event_of_each_type_is_accepted_as_typed_values(type_: str) -> None:
    event = accepted(wire(type_))
    assert event.type is EventType(type_)
    assert event.id == "evt-0001"
    assert event.gig == "g-123"
    assert event.ts == RECEIVED - SECOND
    assert event.automated is False


def test_the_spec_example_batch_is_accepted_whole() -> None:
    # SPEC §3's example has "sent_at": 1763800000123, before three of its events' ts; with
    # skew correction those would land after receipt and be rejected. Sent after the last one:
    sent_at = 1763800004123
    body = {
        "sent_at": sent_at,
        "events": [
            {
                "id": "7f0c0000",
                "type": "served",
                "gig": "g-123",
                "imp": "i-1",
                "pv": "p-1",
                "surface": "search",
                "context": "logo design",
                "position": 1,
                "ts": 1763800000000,
            },
            {
                "id": "8a1d0000",
                "type": "viewable",
                "gig": "g-123",
                "imp": "i-1",
                "ts": 1763800001200,
            },
            {
                "id": "9b2e0000",
                "type": "click",
                "gig": "g-123",
                "imp": "i-1",
                "surface": "search",
                "ts": 1763800003000,
            },
            {"id": "a3f40000", "type": "view", "gig": "g-123", "pv": "p-2", "ts": 1763800004000},
        ],
    }
    batch = parse_batch(body, received=RECEIVED + 10 * SECOND)
    assert batch.rejections == ()
    served, viewable, click, view = batch.events
    assert viewable.surface is None
    assert served.surface is Surface.SEARCH
    assert served.context == "logo design"
    assert served.position == 1
    assert served.pv == "p-1"
    assert click.surface is Surface.SEARCH
    assert view.pv == "p-2"
    assert view.imp is None
    assert [e.type for e in batch.events] == [
        EventType.SERVED, EventType.VIEWABLE, EventType.CLICK, EventType.VIEW
    ]


def test_an_event_is_frozen() -> None:
    event = accepted(wire())
    with pytest.raises(AttributeError):
        event.gig = "other"  # type: ignore[misc]


# --- id -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_id",
    ["abcdefgh", "A" * 64, "a-b_c-D9", "--------", "________", "01234567", "7f0c9b2e-a3f4"],
)
def test_id_of_8_to_64_safe_characters_is_accepted(event_id: str) -> None:
    assert accepted(wire(id=event_id)).id == event_id


@pytest.mark.parametrize(
    "event_id",
    [
        "abcdefg",  # 7
        "a" * 65,
        "",
        "abc defg",
        "abcdefg!",
        "abcdefg.",  # '.' and ':' are gig characters, not id characters
        "abcdefg:",
        "abcd/efg",
        "ábcdefgh",
        "abcdefgh\n",
        "abcd\x00efgh",
        "\uff41bcdefgh",  # fullwidth a
        12345678,
        ["abcdefgh"],
        {"id": "abcdefgh"},
        True,
        _DROP,
        None,
    ],
)
def test_id_outside_the_rule_is_rejected(event_id: object) -> None:
    rejected(wire(id=event_id), "id")


# --- type ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "type_", ["Served", "SERVED", "impression", "clicks", "", " view", None, 1, ["served"], {}]
)
def test_type_outside_the_enum_is_rejected(type_: object) -> None:
    rejected(wire("view", type=type_), "type")


def test_missing_type_is_rejected() -> None:
    rejected(wire("view", type=_DROP), "type")


# --- gig and seller -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "gig", ["g", "g-123", "a.b:c_d-E9", "seller:gig.v2", "x" * 64, "123", ".", ":"]
)
def test_gig_of_1_to_64_characters_including_dot_and_colon_is_accepted(gig: str) -> None:
    assert accepted(wire(gig=gig)).gig == gig


@pytest.mark.parametrize(
    "gig", ["", "x" * 65, "g 1", "g/1", "g@1", "g#1", "ğig", "g\x00", "g\n", 123, None, _DROP, []]
)
def test_gig_outside_the_rule_is_rejected(gig: object) -> None:
    rejected(wire(gig=gig), "gig")


@pytest.mark.parametrize("seller", ["s", "alice", "shop.eu:alice", "x" * 64])
def test_seller_uses_the_gig_alphabet(seller: str) -> None:
    assert accepted(wire(seller=seller)).seller == seller


def test_seller_is_optional() -> None:
    assert accepted(wire()).seller is None


@pytest.mark.parametrize("seller", ["", "x" * 65, "a b", "a/b", 5, ["a"]])
def test_seller_outside_the_rule_is_rejected(seller: object) -> None:
    rejected(wire(seller=seller), "seller")


# --- imp and pv ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["imp", "pv"])
@pytest.mark.parametrize("value", ["i", "i-1_A", "x" * 64, "0"])
def test_imp_and_pv_of_1_to_64_safe_characters_are_accepted(field: str, value: str) -> None:
    assert getattr(accepted(wire("served", **{field: value})), field) == value


@pytest.mark.parametrize("field", ["imp", "pv"])
@pytest.mark.parametrize("value", ["", "x" * 65, "i.1", "i:1", "i 1", "i/1", "ï", 7, ["i"]])
def test_imp_and_pv_outside_the_rule_are_rejected(field: str, value: object) -> None:
    rejected(wire("served", **{field: value}), field)


@pytest.mark.parametrize("type_", ["served", "viewable", "click"])
def test_imp_is_required_on_served_viewable_and_click(type_: str) -> None:
    rejected(wire(type_, imp=_DROP), "imp")
    rejected(wire(type_, imp=None), "imp")


def test_imp_is_not_required_on_a_view() -> None:
    assert accepted(wire("view", imp=_DROP)).imp is None


def test_pv_is_optional_everywhere() -> None:
    for type_ in ("served", "viewable", "click", "view"):
        assert accepted(wire(type_, pv=_DROP)).pv is None


# --- surface ------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", [s.value for s in Surface])
def test_every_pinned_surface_is_accepted(surface: str) -> None:
    assert accepted(wire("served", surface=surface)).surface is Surface(surface)


@pytest.mark.parametrize("type_", ["served", "click"])
def test_surface_is_required_on_served_and_click(type_: str) -> None:
    rejected(wire(type_, surface=_DROP), "surface")


@pytest.mark.parametrize("type_", ["viewable", "view"])
def test_surface_is_optional_on_viewable_and_view(type_: str) -> None:
    assert accepted(wire(type_, surface=_DROP)).surface is None
    assert accepted(wire(type_, surface="homepage")).surface is Surface.HOMEPAGE


@pytest.mark.parametrize(
    "surface", ["Search", "SEARCH", "USER_PAGE", "user-page", "web", "", 1, ["search"], {}]
)
def test_surface_outside_the_enum_is_rejected(surface: object) -> None:
    rejected(wire("served", surface=surface), "surface")
    rejected(wire("view", surface=surface), "surface")


# --- position -----------------------------------------------------------------------------


@pytest.mark.parametrize("position", [1, 2, 49, 50, 10_000])
def test_position_is_a_whole_number_from_1(position: int) -> None:
    assert accepted(wire(position=position)).position == position


def test_position_is_optional() -> None:
    assert accepted(wire(position=_DROP)).position is None


@pytest.mark.parametrize(
    "position", [0, -1, 1.5, 0.5, True, False, "2", "1", [1], {"n": 1}, float("nan"), 10**40]
)
def test_position_that_is_not_an_integer_of_at_least_1_is_rejected(position: object) -> None:
    rejected(wire(position=position), "position")


# --- context ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "context", ["logo design", "a", "x" * 128, "é" * 128, "🎨" * 128, "logo-design", "q\x00"]
)
def test_context_up_to_128_characters_is_kept_whole(context: str) -> None:
    assert accepted(wire(context=context)).context == context


@pytest.mark.parametrize("length", [129, 130, 1000, 10_000])
def test_context_over_128_characters_is_rejected_not_cut(length: int) -> None:
    rejection = rejected(wire(context="x" * length), "context")
    assert str(length) in rejection.reason
    assert "128" in rejection.reason


@pytest.mark.parametrize("context", [5, ["logo"], {"q": "logo"}, True])
def test_context_that_is_not_text_is_rejected(context: object) -> None:
    rejected(wire(context=context), "context")


def test_context_with_a_lone_surrogate_is_rejected_because_it_cannot_be_stored() -> None:
    # json.loads accepts "\ud800"; UTF-8 (SQLite, BSON) cannot hold it.
    rejected(wire(context=json.loads('"logo \\ud800"')), "context")


def test_empty_context_means_no_context() -> None:
    assert accepted(wire(context="")).context is None


# --- order (SPEC §7) ----------------------------------------------------------------------


def order(**fields: object) -> dict[str, object]:
    """A valid order of gig g-123 (the marketplace's order id), with `fields` added."""
    return {"id": "ORD-2026-000123", "type": "order", "gig": "g-123", "ts": RECEIVED - SECOND,
            **fields}


def test_an_order_needs_only_its_id_gig_and_time() -> None:
    event = accepted(order())
    assert event.type is EventType.ORDER
    assert (event.id, event.imp, event.value, event.currency) == ("ORD-2026-000123", None, None,
                                                                  None)


def test_an_order_keeps_its_impression_page_seller_and_amount() -> None:
    event = accepted(order(imp="i-1", pv="p-9", seller="alice", value=49.99, currency="EUR"))
    assert (event.imp, event.pv, event.seller) == ("i-1", "p-9", "alice")
    assert (event.value, event.currency) == (49.99, "EUR")


@pytest.mark.parametrize("value", [0, 0.0, 1, 12.5, MAX_ORDER_VALUE, float(MAX_ORDER_VALUE)])
def test_a_value_from_0_up_to_the_bound_is_kept_as_a_float(value: float) -> None:
    event = accepted(order(value=value, currency="JPY"))
    assert type(event.value) is float and event.value == value


@pytest.mark.parametrize("event_id", ["ord-1", "o" * 65, "ORD 123", "ORD/123", 123])
def test_an_order_id_follows_the_event_id_rules(event_id: object) -> None:
    rejected(order(id=event_id), "id")


def test_value_without_currency_is_rejected_asking_for_the_currency() -> None:
    reason = rejected(order(value=10), "currency").reason
    assert "required with value" in reason and "ISO 4217" in reason


def test_currency_without_value_is_rejected_asking_for_the_value() -> None:
    reason = rejected(order(currency="USD"), "value").reason
    assert "required with currency" in reason


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (-0.01, "is negative"),
        (-1, "is negative"),
        (MAX_ORDER_VALUE + 1, "is too large"),
        (float("inf"), "is too large"),  # what 1e400 becomes in the tolerant parse
        (10**400, "is too large"),
        ("49.99", "not a string"),
        (True, "not a boolean"),
        ([49.99], "not a list"),
        ({"amount": 1}, "not an object"),
    ],
)
def test_a_value_that_is_not_an_amount_is_rejected_saying_why(value: object, says: str) -> None:
    reason = rejected(order(value=value, currency="USD"), "value").reason
    assert says in reason and "from 0 to 1,000,000,000,000" in reason


@pytest.mark.parametrize(
    "currency", ["usd", "US", "USDT", "US1", "ÜSD", "U S", "", 840, True, ["USD"]]
)
def test_a_currency_that_is_not_three_capital_letters_is_rejected(currency: object) -> None:
    reason = rejected(order(value=5, currency=currency), "currency").reason
    assert "ISO 4217" in reason and "three capital letters" in reason


@pytest.mark.parametrize("type_", ["served", "viewable", "click", "view"])
@pytest.mark.parametrize("field", ["value", "currency"])
def test_only_an_order_has_a_value_or_currency(type_: str, field: str) -> None:
    reason = rejected(wire(type_, **{field: "USD" if field == "currency" else 5}), field).reason
    assert "only an order" in reason


@pytest.mark.parametrize(
    ("field", "value"),
    [("surface", "search"), ("surface", "other"), ("context", "logo"), ("context", ""),
     ("position", 3), ("variant", "B")],
)
def test_an_order_names_no_listing_fields_it_counts_under_its_impressions(
    field: str, value: object
) -> None:
    reason = rejected(order(imp="i-1", **{field: value}), field).reason
    assert "impression" in reason


def test_an_order_with_a_bad_imp_is_rejected() -> None:
    rejected(order(imp="i 1"), "imp")


# --- variant (SPEC §7) --------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["A", "B", "thumb.v2", "price:29", "x_y-Z9", "v" * 32])
def test_a_served_event_names_its_tiles_variant(variant: str) -> None:
    assert accepted(wire(variant=variant)).variant == variant


def test_without_a_variant_a_tile_has_none() -> None:
    assert accepted(wire()).variant is None
    assert accepted(wire(variant=None)).variant is None


@pytest.mark.parametrize(
    "variant", ["", "v" * 33, "a b", "a/b", "é", "B\n", 2, True, ["A"]]
)
def test_a_variant_outside_the_rule_is_rejected(variant: object) -> None:
    reason = rejected(wire(variant=variant), "variant").reason
    assert "1 to 32 characters" in reason


@pytest.mark.parametrize("type_", ["viewable", "click", "view"])
def test_a_variant_on_a_later_event_is_rejected_not_ignored(type_: str) -> None:
    reason = rejected(wire(type_, variant="B"), "variant").reason
    assert "only a served event" in reason


# --- device -------------------------------------------------------------------------------


def test_events_carry_the_device_the_edge_was_given_else_none() -> None:
    raws = [wire(), order()]
    told = parse_events(raws, sent_at=None, received=RECEIVED, device=Device.TABLET)
    assert [e.device for e in told.events] == [Device.TABLET, Device.TABLET]
    untold = parse_events(raws, sent_at=None, received=RECEIVED)
    assert [e.device for e in untold.events] == [None, None]


# --- unknown fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["foo", "Type", "ID", "sent_at", "sentAt", "automated", "timestamp", "", "imp "]
)
def test_an_unknown_field_is_rejected_and_named(name: str) -> None:
    rejection = rejected(wire(**{name: "x"}))
    assert rejection.reason.startswith("unknown field")
    assert repr(name) in rejection.reason


def test_an_unknown_field_is_rejected_even_when_null() -> None:
    assert rejected(wire(extra=None)).reason.startswith("unknown field 'extra'")


# --- ts: presence and type ----------------------------------------------------------------


@pytest.mark.parametrize(
    "ts",
    [
        _DROP,
        None,
        str(RECEIVED - SECOND),
        True,
        [RECEIVED],
        {"ms": RECEIVED},
        float("nan"),
        float("inf"),
        float("-inf"),
        1e300,
        -1e300,
        10**400,  # JSON integers may be any length; this one must not overflow a float
        -(10**400),
    ],
)
def test_ts_must_be_a_finite_number(ts: object) -> None:
    rejected(wire(ts=ts), "ts")


def test_json_nan_and_infinity_literals_are_rejected() -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = json.loads(f'{{"id": "evt-0001", "type": "view", "gig": "g", "ts": {literal}}}')
        rejected(raw, "ts")


def test_ts_with_a_fraction_of_a_millisecond_is_accepted_as_whole_ms() -> None:
    event = accepted(wire(ts=RECEIVED - 1500.75))
    assert event.ts == RECEIVED - 1501  # truncated: 1500.75 ms before receipt
    assert isinstance(event.ts, int)


# --- ts: clock skew -----------------------------------------------------------------------


def test_without_sent_at_ts_is_taken_as_is() -> None:
    assert accepted(wire(ts=RECEIVED - 5 * SECOND)).ts == RECEIVED - 5 * SECOND


@pytest.mark.parametrize("skew", [HOUR, -HOUR, 5 * SECOND, -5 * SECOND, 0, 3 * DAY, -30 * DAY])
def test_with_sent_at_event_time_is_receive_time_minus_the_clients_own_delay(skew: int) -> None:
    # The event happened 3 s before the client sent it; the client clock is off by `skew`.
    client_now = RECEIVED + skew
    event = accepted(wire(ts=client_now - 3 * SECOND), sent_at=client_now)
    assert event.ts == RECEIVED - 3 * SECOND


def test_a_client_clock_an_hour_fast_would_be_rejected_without_sent_at() -> None:
    rejected(wire(ts=RECEIVED + HOUR - 3 * SECOND), "ts")
    assert accepted(wire(ts=RECEIVED + HOUR - 3 * SECOND), sent_at=RECEIVED + HOUR).ts == (
        RECEIVED - 3 * SECOND
    )


def test_a_client_clock_ten_days_slow_still_lands_right_with_sent_at() -> None:
    client_now = RECEIVED - 10 * DAY
    assert accepted(wire(ts=client_now - SECOND), sent_at=client_now).ts == RECEIVED - SECOND


def test_sent_at_in_a_batch_body_corrects_every_event() -> None:
    client_now = RECEIVED - HOUR
    body = {
        "sent_at": client_now,
        "events": [wire(id=f"evt-000{i}", ts=client_now - i * SECOND) for i in range(1, 4)],
    }
    batch = parse_batch(body, received=RECEIVED)
    assert [e.ts for e in batch.events] == [RECEIVED - i * SECOND for i in range(1, 4)]


def test_sent_at_null_means_no_correction() -> None:
    batch = parse_batch({"sent_at": None, "events": [wire(ts=RECEIVED - 7)]}, received=RECEIVED)
    assert batch.events[0].ts == RECEIVED - 7


# --- ts: age limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "ok"),
    [
        (RECEIVED, True),  # received this very millisecond
        (RECEIVED + 1, False),  # later than the receive time
        (RECEIVED + HOUR, False),
        (RECEIVED - 7 * DAY, True),  # exactly 7 days old
        (RECEIVED - 7 * DAY - 1, False),
        (RECEIVED - 8 * DAY, False),
        (0, False),
        (-1, False),
    ],
)
def test_events_older_than_7_days_or_later_than_receipt_are_rejected(ts: int, ok: bool) -> None:
    result = parse_one(wire(ts=ts))
    assert isinstance(result, Event) is ok, result


@pytest.mark.parametrize(
    ("delay", "ok"),
    [(0, True), (-1, False), (7 * DAY, True), (7 * DAY + 1, False)],
)
def test_age_limits_apply_to_the_corrected_time(delay: int, ok: bool) -> None:
    # sent_at - ts is the client's own delay, whatever its clock says.
    client_now = RECEIVED + 2 * HOUR
    result = parse_one(wire(ts=client_now - delay), sent_at=client_now)
    assert isinstance(result, Event) is ok, result


@pytest.mark.parametrize(
    ("age", "oldest_days", "ok"),
    [
        (8 * DAY, 7, False),
        (8 * DAY, 400, True),
        (300 * DAY, 400, True),
        (400 * DAY, 400, True),
        (400 * DAY + 1, 400, False),
        (DAY, 1, True),
        (DAY + 1, 1, False),
    ],
)
def test_oldest_days_lets_an_admin_backfill_older_events(
    age: int, oldest_days: int, ok: bool
) -> None:
    result = parse_one(wire(ts=RECEIVED - age), oldest_days=oldest_days)
    assert isinstance(result, Event) is ok, result
    body = {"events": [wire(ts=RECEIVED - age)]}
    batch = parse_batch(body, received=RECEIVED, oldest_days=oldest_days)
    assert len(batch.events) == int(ok)


def test_oldest_days_never_admits_events_from_the_future() -> None:
    rejected(wire(ts=RECEIVED + 1), "ts", oldest_days=400)


# --- automated ----------------------------------------------------------------------------


def test_events_of_a_batch_flagged_automated_are_kept_but_marked() -> None:
    batch = parse_batch({"automated": True, "events": [wire(), wire("view")]}, received=RECEIVED)
    assert [e.automated for e in batch.events] == [True, True]


def test_the_server_can_mark_a_batch_automated_itself() -> None:
    batch = parse_batch({"events": [wire()]}, received=RECEIVED, automated=True)
    assert batch.events[0].automated is True
    batch = parse_batch({"automated": False, "events": [wire()]}, received=RECEIVED, automated=True)
    assert batch.events[0].automated is True


def test_unflagged_events_are_not_automated() -> None:
    batch = parse_batch({"automated": False, "events": [wire()]}, received=RECEIVED)
    assert batch.events[0].automated is False


# --- batch shape --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ([wire()], ["object"]),
        (None, ["object"]),
        ("events", ["object"]),
        (42, ["object"]),
        (True, ["object"]),
        ({}, ['"events"']),
        ({"sent_at": RECEIVED}, ['"events"']),
        ({"event": [wire()]}, ['"events"']),
        ({"events": {"0": wire()}}, ['"events"', "list"]),
        ({"events": None}, ['"events"', "list"]),
        ({"events": "[]"}, ['"events"', "list"]),
        ({"events": wire()}, ['"events"', "list"]),
        ({"events": [wire()] * 101}, ["100", "101"]),
        ({"events": [wire()] * 1000}, ["100", "1000"]),
        ({"sent_at": str(RECEIVED), "events": [wire()]}, ["sent_at", "a string"]),
        ({"sent_at": True, "events": [wire()]}, ["sent_at", "boolean"]),
        ({"sent_at": [RECEIVED], "events": [wire()]}, ["sent_at"]),
        ({"sent_at": float("nan"), "events": [wire()]}, ["sent_at"]),
        ({"sent_at": float("inf"), "events": [wire()]}, ["sent_at"]),
        ({"sent_at": 10**400, "events": [wire()]}, ["sent_at"]),
        ({"automated": "true", "events": [wire()]}, ["automated", "a string"]),
        ({"automated": 1, "events": [wire()]}, ["automated", "a number"]),
        ({"automated": None, "events": [wire()]}, ["automated", "null"]),
    ],
)
def test_a_body_of_the_wrong_shape_raises_bad_batch_naming_the_problem(
    body: object, words: list[str]
) -> None:
    with pytest.raises(BadBatch) as caught:
        parse_batch(body, received=RECEIVED)
    for word in words:
        assert word in str(caught.value), str(caught.value)


def test_a_batch_of_exactly_100_events_is_accepted() -> None:
    events = [wire(id=f"evt-{i:04d}", imp=f"i-{i}") for i in range(100)]
    batch = parse_batch({"events": events}, received=RECEIVED)
    assert len(batch.events) == 100


def test_parse_events_checks_the_list_and_sent_at_itself() -> None:
    # recordEvents (GraphQL) calls parse_events directly.
    with pytest.raises(BadBatch, match="list"):
        parse_events({"a": 1}, sent_at=None, received=RECEIVED)
    with pytest.raises(BadBatch, match="100"):
        parse_events([wire()] * 101, sent_at=None, received=RECEIVED)
    with pytest.raises(BadBatch, match="sentAt"):
        parse_events([wire()], sent_at=float("nan"), received=RECEIVED)


# --- one bad event never spoils its batch -------------------------------------------------


def test_one_bad_event_never_spoils_its_batch() -> None:
    raws = [
        wire(id="good-0000"),
        wire(id="bad"),
        wire("view", id="good-0002"),
        "not an event",
        wire("click", id="good-0004"),
        wire(position=0),
        None,
    ]
    batch = parse_batch({"events": raws}, received=RECEIVED)
    assert [e.id for e in batch.events] == ["good-0000", "good-0002", "good-0004"]
    assert [r.index for r in batch.rejections] == [1, 3, 5, 6]
    assert [r.reason.split(":")[0] for r in batch.rejections] == [
        "id",
        "an event must be a JSON object, not a string",
        "position",
        "an event must be a JSON object, not null",
    ]
    assert all(r.received == RECEIVED for r in batch.rejections)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), max_size=100))
def test_rejection_indexes_point_at_the_bad_events(good: list[bool]) -> None:
    raws = [wire(id=f"evt-{i:04d}") if ok else wire(id=f"bad{i}!") for i, ok in enumerate(good)]
    batch = parse_events(raws, sent_at=None, received=RECEIVED)
    assert [e.id for e in batch.events] == [f"evt-{i:04d}" for i, ok in enumerate(good) if ok]
    assert [r.index for r in batch.rejections] == [i for i, ok in enumerate(good) if not ok]


def test_an_empty_events_list_is_an_empty_batch() -> None:
    assert parse_batch({"events": []}, received=RECEIVED) == Batch((), ())


# --- the raw copy of a rejection ----------------------------------------------------------


def test_the_raw_copy_of_a_small_rejected_event_is_its_json() -> None:
    raw = wire(position=0, context="café")
    assert json.loads(rejected(raw, "position").raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        wire(context="x" * 100_000),
        wire(extra="x" * 100_000),
        wire(**{f"f{i}": i for i in range(5000)}),
        {"list": list(range(100_000))},
        "x" * 100_000,
        ["x" * 5000] * 50,
        wire(id="é" * 10_000),
    ],
)
def test_the_raw_copy_is_bounded_even_for_a_huge_event(raw: object) -> None:
    rejection = rejected(raw)
    assert 0 < len(rejection.raw) <= 1024
    assert len(rejection.reason) <= 300


def _nested(depth: int, leaf: object = "x") -> object:
    value: object = leaf
    for i in range(depth):
        value = {"x": value} if i % 2 else [value]
    return value


def _nested_lists(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


# --- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        _nested(100_000),
        _nested_lists(100_000),  # one character a level: past the recursion limit
        wire(extra=_nested(100_000)),
        wire(type=_nested(50_000)),
        wire(id=_nested(50_000)),
        wire(surface=_nested(50_000)),
        wire(ts=_nested(50_000)),
        wire(context=_nested(50_000)),
        wire(id="a" * 10_000),
        wire(gig="g" * 10_000),
        wire(type="s" * 10_000),
        wire(surface="s" * 10_000),
        wire(**{"k" * 10_000: 1}),
        wire(gig="g\x00"),
        wire(id="evt\x00\x00\x00\x00\x00"),
        wire(gig="グ"),
        wire(gig="g\u202e"),
        wire(extra=json.loads('"\\ud800\\udfff\\ud800"')),
        wire(imp=json.loads('"\\ud800"')),
        wire(extra=json.loads('"' + "\\ud800" * 2000 + '"')),
        wire(id=10**5000),
        wire(position=10**5000),
        wire(ts=10**5000),
        wire(extra=10**5000),
        wire(extra=float("nan")),
        wire(extra=(1, 2)),
        wire(extra=object()),
        {1: "int key", "id": "evt-0001"},
    ],
)
def test_hostile_input_becomes_a_rejection_never_an_exception(raw: object) -> None:
    rejection = rejected(raw)
    assert len(rejection.raw) <= 1024
    assert len(rejection.reason) <= 300
    rejection.raw.encode("utf-8")  # storable as UTF-8
    rejection.reason.encode("utf-8")


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=200)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
FIELD_NAMES = st.sampled_from(
    ["id", "type", "gig", "seller", "imp", "pv", "surface", "context", "position", "ts", "other",
     "variant", "value", "currency"]
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        JSON_VALUES
        | st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=10)
        | st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=3).map(lambda over: wire() | over),
        max_size=8,
    ),
    st.none() | st.integers(RECEIVED - 30 * DAY, RECEIVED + 30 * DAY),
)
def test_any_json_batch_is_split_into_events_and_rejections_without_raising(
    raws: list[object], sent_at: int | None
) -> None:
    batch = parse_events(raws, sent_at=sent_at, received=RECEIVED)
    assert len(batch.events) + len(batch.rejections) == len(raws)
    assert sorted(r.index for r in batch.rejections) == [r.index for r in batch.rejections]
    for rejection in batch.rejections:
        assert len(rejection.raw) <= 1024
        rejection.raw.encode("utf-8")
    for event in batch.events:
        assert_follows_every_rule(event)


def assert_follows_every_rule(event: Event) -> None:
    assert 8 <= len(event.id) <= 64 and set(event.id) <= set(ID_CHARS)
    assert isinstance(event.type, EventType)
    assert 1 <= len(event.gig) <= 64 and set(event.gig) <= set(GIG_CHARS)
    for token in (event.imp, event.pv):
        assert token is None or (1 <= len(token) <= 64 and set(token) <= set(ID_CHARS))
    if event.type not in (EventType.VIEW, EventType.ORDER):
        assert event.imp is not None
    if event.type in (EventType.SERVED, EventType.CLICK):
        assert event.surface is not None
    if event.type is EventType.ORDER:
        assert event.surface is event.context is event.position is event.variant is None
    else:
        assert event.value is event.currency is None
    assert event.variant is None or (
        event.type is EventType.SERVED and 1 <= len(event.variant) <= 32
        and set(event.variant) <= set(GIG_CHARS)
    )
    assert (event.value is None) is (event.currency is None)
    if event.value is not None:
        assert type(event.value) is float and 0 <= event.value <= MAX_ORDER_VALUE
        assert re.fullmatch("[A-Z]{3}", event.currency or "")
    assert event.position is None or (type(event.position) is int and event.position >= 1)
    assert event.context is None or (isinstance(event.context, str) and len(event.context) <= 128)
    assert type(event.ts) is int
    assert RECEIVED - 7 * DAY <= event.ts <= RECEIVED


# --- round trip ---------------------------------------------------------------------------

TOKENS = st.text(ID_CHARS, min_size=1, max_size=64)
CURRENCIES = st.text(string.ascii_uppercase, min_size=3, max_size=3)
AMOUNTS = st.one_of(
    st.floats(0, MAX_ORDER_VALUE), st.integers(0, MAX_ORDER_VALUE).map(float),
    st.sampled_from([0.0, 0.01, 49.99, float(MAX_ORDER_VALUE)]),
)


@st.composite
def valid_events(draw: st.DrawFn) -> Event:
    """Any event the wire format accepts, as the edge builds it."""
    type_ = draw(st.sampled_from(EventType))
    event = Event(
        id=draw(st.text(ID_CHARS, min_size=8, max_size=64)),
        type=type_,
        gig=draw(st.text(GIG_CHARS, min_size=1, max_size=64)),
        ts=RECEIVED - draw(st.integers(0, 7 * DAY)),
        seller=draw(st.none() | st.text(GIG_CHARS, min_size=1, max_size=64)),
        imp=draw(TOKENS if type_ in NEEDS_IMP else st.none() | TOKENS),
        pv=draw(st.none() | TOKENS),
    )
    if type_ is EventType.ORDER:
        if draw(st.booleans()):
            event = event._replace(value=draw(AMOUNTS), currency=draw(CURRENCIES))
        return event
    needs_surface = type_ in (EventType.SERVED, EventType.CLICK)
    surfaces = st.sampled_from(Surface)
    return event._replace(
        surface=draw(surfaces if needs_surface else st.none() | surfaces),
        context=draw(st.none() | st.text(st.characters(codec="utf-8"), max_size=128)) or None,
        position=draw(st.none() | st.integers(1, 500)),
        variant=draw(st.none() | st.text(GIG_CHARS, min_size=1, max_size=32))
        if type_ is EventType.SERVED else None,
    )


NEEDS_IMP = (EventType.SERVED, EventType.VIEWABLE, EventType.CLICK)
VALID_EVENTS = valid_events()


@settings(max_examples=200, deadline=None)
@given(VALID_EVENTS)
def test_every_event_the_snippet_can_send_is_accepted_unchanged(event: Event) -> None:
    raw = json.loads(json.dumps(event_to_wire(event)))
    assert accepted(raw) == event
