"""`gigmetrics delete`: everything stored of one gig or one seller, as deleteGigData and
deleteSellerData do it (through `MetricsService`)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..model import now_ms
from ..service import MetricsService
from ..settings import Settings
from ..stores.base import DeletedData, Store
from .parsing import Help
from .stored import with_store

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `delete` to the commands."""
    delete = commands.add_parser(
        "delete", formatter_class=Help,
        help="delete everything stored of one gig or one seller (asks for --yes)",
        description="Delete a gig's or a seller's events, impressions, page views, rollups, "
        "contexts, rejected events naming it and gig records from the store of "
        "GIGMETRICS_DATABASE_URL. Events of it that arrive later count again, as new data.",
    )
    target = delete.add_mutually_exclusive_group(required=True)
    target.add_argument("--gig", help="the gig id")
    target.add_argument(
        "--seller", help="the seller id: every gig it owns, and events naming the seller"
    )
    delete.add_argument("--yes", action="store_true", help="delete (without it: only say what)")
    delete.set_defaults(run=_delete, new_database=False)


@with_store
async def _delete(store: Store, args: argparse.Namespace) -> int:
    if args.gig:
        what = f"gig {args.gig!r}"
    else:
        gigs = await store.gigs_of_sellers([args.seller])
        what = (f"seller {args.seller!r} ({len(gigs)} gigs: {', '.join(gigs[:5])}"
                f"{', ...' if len(gigs) > 5 else ''})")
    if not args.yes:
        print(f"This deletes everything stored of {what}. It cannot be undone: run again "
              "with --yes to delete.", file=sys.stderr)
        return 1
    service = MetricsService(store, Settings.from_env(), now_ms())
    deleted: DeletedData = await (
        service.delete_gig(args.gig) if args.gig else service.delete_seller(args.seller)
    )
    print(json.dumps(asdict(deleted), indent=2))
    print(f"deleted everything stored of {what}", file=sys.stderr)
    return 0
