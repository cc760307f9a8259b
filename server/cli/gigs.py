"""`gigmetrics gigs set-owner|claims`: who owns a gig, and claims on gigs others own."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..model import now_ms
from ..stores.base import Store
from .parsing import Help, gig_id
from .stored import with_store

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `gigs` and its actions to the commands."""
    gigs = commands.add_parser(
        "gigs", formatter_class=Help, help="gig owners (which partner keys read a gig)",
        description="Who owns a gig decides which partner keys read it: set or move an owner, "
        "and see the claims beacons made for gigs others own.",
    )
    gig_commands = gigs.add_subparsers(required=True, metavar="ACTION")
    set_owner = gig_commands.add_parser("set-owner", formatter_class=Help,
                                        help="set or move a gig's owner")
    set_owner.add_argument("gig", type=gig_id)
    set_owner.add_argument("seller", type=gig_id)
    set_owner.set_defaults(run=_gigs_set_owner, new_database=False)
    claims = gig_commands.add_parser(
        "claims",
        help="sellers named for gigs others own, latest first: gig, seller, events, first and "
        "last event (epoch ms), tab-separated",
    )
    claims.set_defaults(run=_gigs_claims, new_database=False)


@with_store
async def _gigs_set_owner(store: Store, args: argparse.Namespace) -> int:
    await store.set_owner(args.gig, args.seller, now_ms())
    print(f"{args.gig} now belongs to {args.seller}")
    return 0


@with_store
async def _gigs_claims(store: Store, args: argparse.Namespace) -> int:
    for claim in await store.gig_claims(500):
        print(f"{claim.gig}\t{claim.seller}\t{claim.events}\t{claim.first}\t{claim.last}")
    return 0
