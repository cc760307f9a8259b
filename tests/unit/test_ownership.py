"""Who owns a gig (server/counting/ownership.py): the rule table of SPEC §4 and issue 7."""

from __future__ import annotations

import pytest

from server.counting.ownership import (
    CLAIMS_PER_GIG,
    OTHER_SELLERS,
    Conflict,
    Owner,
    bound_claims,
    decide,
)
from server.edge.events import GIG_ID
from server.model import Event, EventType, Trust

T = 1_800_000_000_000
BOB_SINCE = T - 1000


def event(seller: str | None, trust: int, ts: int = T, *, gig: str = "g-1",
          invalid: str | None = None, n: int = 1) -> Event:
    return Event(f"e-{n:08d}", EventType.VIEW, gig, ts, seller, pv=f"p{n}", invalid=invalid,
                 trust=trust)


# (stored owner of g-1, the event's seller, its trust, its time) -> (owner after, a conflict?)
RULES = [
    # a gig nobody owns: a scoped key, an unsigned beacon without signing, a signature, the admin
    (None, "alice", Trust.FIRST, T, "alice", False),
    (None, "alice", Trust.MOVE, T, "alice", False),
    # ...but an unsigned beacon while signing is on names nobody, and flags nothing yet
    (None, "alice", Trust.CLAIM, T, None, False),
    (None, None, Trust.MOVE, T, None, False),
    # bob owns it: only the admin's word or a signature moves it, and only forward in time
    ("bob", "alice", Trust.CLAIM, T, "bob", True),
    ("bob", "alice", Trust.FIRST, T, "bob", True),
    ("bob", "alice", Trust.MOVE, T, "alice", False),
    ("bob", "alice", Trust.MOVE, BOB_SINCE, "alice", False),
    ("bob", "alice", Trust.MOVE, BOB_SINCE - 1, "bob", True),
    # bob naming bob again, or an event naming no seller, changes nothing
    ("bob", "bob", Trust.CLAIM, T, "bob", False),
    ("bob", None, Trust.FIRST, T, "bob", False),
]


@pytest.mark.parametrize(("owner", "seller", "trust", "ts", "after", "conflict"), RULES)
def test_the_rule_table(owner: str | None, seller: str | None, trust: int, ts: int,
                        after: str | None, conflict: bool) -> None:
    stored: dict[str, Owner] = {"g-1": (owner, BOB_SINCE)} if owner else {}
    owners, conflicts = decide(stored, [event(seller, trust, ts)])
    # Only what changes is written: a new gig becomes known (owned or not), an owner moves.
    # An owner's time is that of the claim that set it.
    unchanged = owner is not None and after == owner
    assert owners == ({} if unchanged else {"g-1": (after, ts)})
    expected = {("g-1", seller): Conflict("g-1", seller, ts, ts, 1)} if conflict else {}
    assert conflicts == expected


def test_a_gig_seen_for_the_first_time_is_made_known_without_an_owner() -> None:
    owners, conflicts = decide({}, [event(None, Trust.FIRST, T, gig="g-new")])
    assert owners == {"g-new": (None, T)}
    assert conflicts == {}


def test_an_invalid_event_sets_no_owner_unless_the_admin_or_a_signature_sent_it() -> None:
    crawled = event("alice", Trust.FIRST, invalid="crawler")
    assert decide({}, [crawled])[0] == {"g-1": (None, T)}
    over_rate_but_signed = event("alice", Trust.MOVE, invalid="over_rate")
    assert decide({}, [over_rate_but_signed])[0] == {"g-1": ("alice", T)}
    # and an invalid claim on someone else's gig is not even a conflict worth showing
    assert decide({"g-1": ("bob", BOB_SINCE)}, [crawled]) == ({}, {})


def test_the_first_claim_in_a_batch_wins_and_later_ones_are_conflicts() -> None:
    batch = [
        event("alice", Trust.FIRST, T, n=1),
        event("mallory", Trust.FIRST, T + 5, n=2),
        event("mallory", Trust.FIRST, T + 2, n=3),
        event("alice", Trust.FIRST, T + 9, n=4),
    ]
    owners, conflicts = decide({}, batch)
    assert owners == {"g-1": ("alice", T)}
    assert conflicts == {("g-1", "mallory"): Conflict("g-1", "mallory", T + 2, T + 5, 2)}


def test_a_signature_moves_an_owner_set_earlier_in_the_same_batch() -> None:
    owners, conflicts = decide(
        {}, [event("alice", Trust.FIRST, T, n=1), event("bob", Trust.MOVE, T + 1, n=2)]
    )
    assert owners == {"g-1": ("bob", T + 1)}
    assert conflicts == {}


def test_gigs_are_decided_each_on_its_own() -> None:
    stored: dict[str, Owner] = {"g-1": ("bob", BOB_SINCE)}
    owners, conflicts = decide(
        stored,
        [event("alice", Trust.FIRST, gig="g-1", n=1), event("alice", Trust.FIRST, gig="g-2", n=2)],
    )
    assert owners == {"g-2": ("alice", T)}
    assert list(conflicts) == [("g-1", "alice")]


def test_trust_levels_are_ordered() -> None:
    assert Trust.CLAIM < Trust.FIRST < Trust.MOVE


def claim(seller: str, ts: int = T, events: int = 1, gig: str = "g-1") -> Conflict:
    return Conflict(gig, seller, ts, ts, events)


def test_claims_keep_the_first_sellers_of_a_gig_and_sum_the_rest() -> None:
    kept = {"g-1": {f"s{n}" for n in range(CLAIMS_PER_GIG - 1)}}
    conflicts = {
        ("g-1", "s0"): claim("s0"),  # kept already
        ("g-1", "new-1"): claim("new-1", T + 1),  # the last free place
        ("g-1", "new-2"): claim("new-2", T + 2, 3),  # past the cap
        ("g-1", "new-3"): claim("new-3", T + 3),
        ("g-2", "x"): claim("x", gig="g-2"),  # another gig has its own places
    }
    bounded, admitted = bound_claims(conflicts, kept)
    assert bounded == {
        ("g-1", "s0"): claim("s0"),
        ("g-1", "new-1"): claim("new-1", T + 1),
        ("g-1", OTHER_SELLERS): Conflict("g-1", OTHER_SELLERS, T + 2, T + 3, 4),
        ("g-2", "x"): claim("x", gig="g-2"),
    }
    assert admitted == {"g-1": ["new-1"], "g-2": ["x"]}


def test_other_sellers_is_no_seller_id() -> None:
    assert not GIG_ID.fullmatch(OTHER_SELLERS)
