"""Signed listings (server/edge/signing.py): what a token covers, rotation, freshness."""

from __future__ import annotations

import pytest

from server.edge.signing import (
    CLOCK_SLACK_MS,
    SIGNATURE_TTL_MS,
    SigningKeys,
    check,
    sign_listing,
    sign_page,
)
from server.errors import SettingsError
from server.model import Event, EventType, Surface

T = 1_800_000_000_000
OLD = SigningKeys.parse("k1:old-secret-0123456789")
ROTATED = SigningKeys.parse("k2:new-secret-0123456789,k1:old-secret-0123456789")
NEW_ONLY = SigningKeys.parse("k2:new-secret-0123456789")


def tile_event(sig: str | None, *, kind: EventType = EventType.SERVED, gig: str = "g-1",
               seller: str | None = "alice", surface: Surface = Surface.SEARCH,
               context: str | None = "logo design", position: int | None = 2,
               ts: int = T + 1000) -> Event:
    return Event("e-00000001", kind, gig, ts, seller, "i-1", "p-1", surface, context,
                 position if kind is EventType.SERVED else None, sig=sig)


def page_event(sig: str | None, *, gig: str = "g-1", seller: str | None = "alice",
               ts: int = T + 1000) -> Event:
    return Event("e-00000002", EventType.VIEW, gig, ts, seller, pv="p-2", sig=sig)


def listing(keys: SigningKeys = OLD, now: int = T) -> list[str]:
    tiles = [("g-0", "bob"), ("g-1", "alice"), ("g-2", None)]
    return sign_listing(keys, "search", "logo design", tiles, now=now, nonce="nonce-1")


def reason(keys: SigningKeys, event: Event, received: int | None = None) -> str | None:
    return check(keys, event, received=event.ts if received is None else received).invalid


def test_every_tile_of_a_render_verifies_and_names_the_tile_it_spends() -> None:
    sigs = listing()
    assert len({s.split(".")[2] for s in sigs}) == 1  # one nonce per render
    assert [s.split(".")[3] for s in sigs] == ["1", "2", "3"]
    checked = check(OLD, tile_event(sigs[1]), received=T + 1000)
    assert checked.invalid is None
    assert checked.render == "nonce-1.2"
    assert checked.trust == 2  # a signed seller may set the gig's owner


@pytest.mark.parametrize("kind", [EventType.SERVED, EventType.VIEWABLE, EventType.CLICK])
def test_any_event_of_a_signed_tile_verifies(kind: EventType) -> None:
    assert reason(OLD, tile_event(listing()[1], kind=kind)) is None


def test_load_more_continues_the_positions() -> None:
    sig, = sign_listing(OLD, "search", "logo design", [("g-1", "alice")], now=T,
                        first_position=49)
    assert reason(OLD, tile_event(sig, position=49)) is None
    assert reason(OLD, tile_event(sig, position=1)) == "bad_signature"


def test_a_gig_page_token_verifies_a_view_only() -> None:
    sig = sign_page(OLD, "g-1", "alice", now=T)
    assert check(OLD, page_event(sig), received=T + 1000).invalid is None
    assert check(OLD, page_event(sig), received=T + 1000).render is not None
    assert reason(OLD, tile_event(sig)) == "bad_signature"  # a page token is no tile's
    assert reason(OLD, page_event(listing()[1])) == "bad_signature"  # nor a tile's a page's


@pytest.mark.parametrize(
    "altered",
    [
        {"gig": "g-2"},
        {"seller": "mallory"},
        {"seller": None},
        {"surface": Surface.CATEGORY},
        {"context": "logo"},
        {"context": None},
        {"position": 3},
    ],
)
def test_altering_a_covered_field_of_the_event_fails(altered: dict[str, object]) -> None:
    sig = listing()[1]
    assert reason(OLD, tile_event(sig)) is None
    assert reason(OLD, tile_event(sig, **altered)) == "bad_signature"  # type: ignore[arg-type]


@pytest.mark.parametrize("altered", [{"gig": "g-2"}, {"seller": "mallory"}, {"seller": None}])
def test_altering_a_covered_field_of_a_page_event_fails(altered: dict[str, object]) -> None:
    sig = sign_page(OLD, "g-1", "alice", now=T)
    assert reason(OLD, page_event(sig, **altered)) == "bad_signature"  # type: ignore[arg-type]


@pytest.mark.parametrize("part", range(5))
def test_altering_any_part_of_the_token_fails(part: int) -> None:
    sig = listing()[1]
    parts = sig.split(".")
    changed = {0: "k9", 1: str(int(parts[1], 36) + 1), 2: "nonce-2", 3: "3",
               4: ("A" if parts[4][0] != "A" else "B") + parts[4][1:]}[part]
    parts[part] = changed
    forged = ".".join(parts)
    # position 3 also disagrees with the event's own position; move that too
    event = tile_event(forged, position=3 if part == 3 else 2)
    assert reason(OLD, event) == "bad_signature"


@pytest.mark.parametrize("sig", ["", "k1", "k1.a.b.c", "k1.a.b.x.mac", "k1.a.b.1.mac.extra"])
def test_a_malformed_token_is_a_bad_signature(sig: str) -> None:
    assert reason(OLD, tile_event(sig)) == "bad_signature"


def test_no_token_is_unsigned() -> None:
    assert reason(OLD, tile_event(None)) == "unsigned"
    assert reason(OLD, page_event(None)) == "unsigned"


def test_rotation_the_first_key_signs_and_every_key_verifies() -> None:
    before = listing(OLD)[1]
    after = listing(ROTATED)[1]
    assert before.startswith("k1.") and after.startswith("k2.")
    # During the rotation, renders signed before it still count...
    assert reason(ROTATED, tile_event(before)) is None
    assert reason(ROTATED, tile_event(after)) is None
    # ...a server not yet rotated refuses the new key, and once k1 is dropped, so is it.
    assert reason(OLD, tile_event(after)) == "bad_signature"
    assert reason(NEW_ONLY, tile_event(before)) == "bad_signature"
    assert reason(NEW_ONLY, tile_event(after)) is None


def test_a_token_is_fresh_for_its_ttl_and_a_little_before_its_issue() -> None:
    sig = listing(now=T)[1]
    fresh = [T, T + SIGNATURE_TTL_MS, T - CLOCK_SLACK_MS]
    stale = [T + SIGNATURE_TTL_MS + 1, T - CLOCK_SLACK_MS - 1]
    assert [reason(OLD, tile_event(sig, ts=ts)) for ts in fresh] == [None] * 3
    assert [reason(OLD, tile_event(sig, ts=ts)) for ts in stale] == ["stale_signature"] * 2


def test_freshness_is_judged_by_when_the_server_got_the_event_not_by_its_own_time() -> None:
    sig = listing(now=T)[1]
    replayed_a_week_later = tile_event(sig, ts=T + 1000)
    assert reason(OLD, replayed_a_week_later, received=T + 7 * 86_400_000) == "stale_signature"
    assert reason(OLD, replayed_a_week_later, received=T + SIGNATURE_TTL_MS) is None
    assert reason(OLD, replayed_a_week_later, received=T + SIGNATURE_TTL_MS + 1) == (
        "stale_signature"
    )


def test_an_event_already_invalid_is_left_as_it_is() -> None:
    crawled = tile_event(listing()[1])._replace(invalid="crawler")
    assert check(OLD, crawled, received=T + 1000) is crawled


def test_a_long_context_is_signed_as_the_snippet_sends_it() -> None:
    long = "x" * 300
    sig, = sign_listing(OLD, "search", long, [("g-1", "alice")], now=T, first_position=2)
    assert reason(OLD, tile_event(sig, context=long[:128])) is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ("k1", "kid:secret"),
        ("k1:short", "at least 16 characters"),
        ("k-1:0123456789abcdef", "letters or digits"),
        ("k12345678901234567:0123456789abcdef", "1-16"),
    ],
)
def test_bad_signing_keys_name_themselves(raw: str, says: str) -> None:
    with pytest.raises(SettingsError) as error:
        SigningKeys.parse(raw)
    assert str(error.value).startswith("GIGMETRICS_SIGNING_KEYS")
    assert says in str(error.value)


def test_an_unsigned_order_is_kept_apart_from_the_trusted_report_of_the_same_order() -> None:
    order = Event("ORD-000001", EventType.ORDER, "g-1", T + 1000, imp="i-1")
    judged = check(OLD, order, received=T + 1000)
    assert judged.invalid == "unsigned"
    # Not under the order id, which the backend's report (recordEvents) keeps for itself;
    # the same page report retried still dedupes against itself.
    assert judged.id == "ORD-000001~unsigned" == check(OLD, order, received=T + 1000).id
