"""`gigmetrics schema`: the GraphQL schema the server serves, in SDL."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..errors import CommandError
from .parsing import Help

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `schema` to the commands."""
    parser = commands.add_parser("schema", formatter_class=Help,
                                 help="print the GraphQL schema (SDL)",
                                 description="Print the schema the server serves, in SDL.")
    parser.add_argument("--output", "-o", help="write to this file instead of stdout")
    parser.set_defaults(run=_schema)


def _schema(args: argparse.Namespace) -> int:
    from ..api import schema_sdl

    sdl = schema_sdl()
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as out:
                out.write(sdl)
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc.strerror}") from None
    else:
        sys.stdout.write(sdl)
    return 0
