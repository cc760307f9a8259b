"""The `gigmetrics` command, one module per command.

    serve         run the collector, API, snippet and demo pages (serve.py; how the server
                  starts is `server.serving`)
    demo-traffic  fill an empty store with demo traffic (demo_traffic.py)
    schema        print the GraphQL schema (schema.py)
    keys          create, list and revoke partner API keys (keys.py)
    gigs          set a gig's owner, list the claims on gigs others own (gigs.py)
    sign          sign a listing render or a gig page (sign.py)
    delete        delete everything stored of one gig or one seller (delete.py)

What several commands share: parsing.py (help format, argument types), stored.py (a command
run against the server's store).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import GigmetricsError
from . import delete, demo_traffic, gigs, keys, schema, serve, sign
from .parsing import Help, settings_help

DESCRIPTION = (
    "Honest impression/click analytics for marketplace listings: a beacon collector, a "
    "GraphQL API, the browser snippet and demo pages."
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `gigmetrics` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except GigmetricsError as exc:
        print(f"gigmetrics: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gigmetrics", description=DESCRIPTION, epilog=settings_help(), formatter_class=Help
    )
    parser.add_argument("--version", action="version", version=f"gigmetrics {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    # In the order `--help` lists them.
    for command in (serve, demo_traffic, schema, keys, gigs, sign, delete):
        command.register(commands)
    return parser
