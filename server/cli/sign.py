"""`gigmetrics sign listing|page`: tokens for a listing's tiles or a gig page."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..edge.events import MAX_CONTEXT_CHARS
from ..edge.signing import SigningKeys, sign_listing, sign_page
from ..errors import SettingsError
from ..model import Surface, now_ms
from ..settings import Settings
from .parsing import gig_id

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `sign` and what it signs to the commands."""
    sign = commands.add_parser(
        "sign", help="sign a listing render or a gig page (needs GIGMETRICS_SIGNING_KEYS)"
    )
    sign_commands = sign.add_subparsers(required=True, metavar="WHAT")
    listing_sign = sign_commands.add_parser(
        "listing", help="one token per tile, in order: print them one a line"
    )
    listing_sign.add_argument("--surface", required=True, choices=[s.value for s in Surface])
    listing_sign.add_argument("--context", default="", type=_context)
    listing_sign.add_argument("--first-position", type=_position, default=1)
    listing_sign.add_argument("tiles", nargs="+", metavar="GIG[=SELLER]", type=_tile)
    listing_sign.set_defaults(run=_sign_listing)
    page_sign = sign_commands.add_parser("page", help="the token of a gig page")
    page_sign.add_argument("gig", type=gig_id)
    page_sign.add_argument("--seller", type=gig_id)
    page_sign.set_defaults(run=_sign_page)


def _signing_keys() -> SigningKeys:
    keys = Settings.from_env().signing_keys
    if keys is None:
        raise SettingsError(
            "GIGMETRICS_SIGNING_KEYS is not set: give kid:secret pairs, e.g. "
            "GIGMETRICS_SIGNING_KEYS=k1:$(openssl rand -hex 32)."
        )
    return keys


def _tile(text: str) -> tuple[str, str | None]:
    gig, _, seller = text.partition("=")
    return gig_id(gig), gig_id(seller) if seller else None


def _context(text: str) -> str:
    if len(text) > MAX_CONTEXT_CHARS:
        raise argparse.ArgumentTypeError(
            f"the context is {len(text)} characters: at most {MAX_CONTEXT_CHARS} (the collector "
            "rejects longer ones)"
        )
    return text


def _position(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a position: a whole number from 1")
    return int(text)


def _sign_listing(args: argparse.Namespace) -> int:
    tiles: list[tuple[str, str | None]] = args.tiles
    for token in sign_listing(_signing_keys(), args.surface, args.context, tiles,
                              now=now_ms(), first_position=args.first_position):
        print(token)
    return 0


def _sign_page(args: argparse.Namespace) -> int:
    print(sign_page(_signing_keys(), args.gig, args.seller, now=now_ms()))
    return 0
