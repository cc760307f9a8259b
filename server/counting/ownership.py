"""Who owns a gig: pure rules both stores run inside their write transaction.

The owner decides which partner keys read a gig, so only trusted sources set it:

- MOVE: the admin key (recordEvents, `setGigOwner`) or a valid listing/page signature may
  set or move an owner (a claim older than the current owner's does not win);
- FIRST: a write key scoped to the seller, or an anonymous beacon while signing is off, may
  name the owner of a gig that has none;
- CLAIM: an unsigned beacon while signing is on never sets an owner.

A claim that is not applied (another seller already owns the gig) is kept as a conflict for
the admin to see (`gigClaims`), never applied. Anyone can send beacons naming any seller, so
the kept claims are bounded: at most CLAIMS_PER_GIG sellers per gig, later new ones summed
under OTHER_SELLERS (`bound_claims`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from ..model import Event, Trust

CLAIMS_PER_GIG = 20
# Not a seller id (those are [A-Za-z0-9_.:-]): the sum of claims past a gig's cap.
OTHER_SELLERS = "*"

Owner = tuple[str | None, int]  # (seller or None, when it was set: epoch ms)


@dataclass(frozen=True, slots=True)
class Conflict:
    """Seller `seller` was named for `gig`, owned by someone else, by `events` events
    between `first` and `last`."""

    gig: str
    seller: str
    first: int
    last: int
    events: int


def decide(
    stored: Mapping[str, Owner], events: Iterable[Event]
) -> tuple[dict[str, Owner], dict[tuple[str, str], Conflict]]:
    """The owners these events set (gig -> (seller, when); gigs seen for the first time
    appear with seller None so the store knows them) and the conflicting claims, in order."""
    owners: dict[str, Owner] = {}
    conflicts: dict[tuple[str, str], Conflict] = {}
    for event in events:
        gig = event.gig
        current = owners.get(gig) or stored.get(gig)
        if current is None:
            current = owners[gig] = (None, event.ts)
        seller = event.seller
        if seller is None or (event.invalid is not None and event.trust < Trust.MOVE):
            continue
        owner, since = current
        if owner == seller:
            continue
        if owner is None:
            trusted = event.trust >= Trust.FIRST
        else:  # a claim older than the current owner's never wins
            trusted = event.trust >= Trust.MOVE and event.ts >= since
        if trusted:
            owners[gig] = (seller, event.ts)
            continue
        if owner is None:
            continue  # an untrusted claim on a gig nobody owns: nothing to flag yet
        old = conflicts.get((gig, seller))
        conflicts[(gig, seller)] = Conflict(
            gig,
            seller,
            event.ts if old is None else min(old.first, event.ts),
            event.ts if old is None else max(old.last, event.ts),
            1 if old is None else old.events + 1,
        )
    return owners, conflicts


def bound_claims(
    conflicts: Mapping[tuple[str, str], Conflict], kept: Mapping[str, Set[str]]
) -> tuple[dict[tuple[str, str], Conflict], dict[str, list[str]]]:
    """The claims to store, given the sellers each gig keeps claims for already (`kept`, its
    OTHER_SELLERS row aside), and the sellers newly kept per gig. A gig keeps its first
    CLAIMS_PER_GIG sellers; the claims of later new ones add up in its OTHER_SELLERS row."""
    bounded: dict[tuple[str, str], Conflict] = {}
    admitted: dict[str, list[str]] = {}
    for (gig, seller), claim in conflicts.items():
        known = kept.get(gig, frozenset())
        new = admitted.setdefault(gig, [])
        if seller not in known and seller not in new:
            if len(known) + len(new) < CLAIMS_PER_GIG:
                new.append(seller)
            else:
                seller = OTHER_SELLERS
        old = bounded.get((gig, seller))
        bounded[(gig, seller)] = Conflict(
            gig, seller, claim.first, claim.last, claim.events
        ) if old is None else Conflict(
            gig, seller, min(old.first, claim.first), max(old.last, claim.last),
            old.events + claim.events,
        )
    return bounded, {gig: sellers for gig, sellers in admitted.items() if sellers}
