"""`gigmetrics serve`: its arguments; how the server starts is `server.serving.serve`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..serving import serve
from ..settings import LOG_LEVELS
from .parsing import Help, settings_help

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `serve` to the commands."""
    parser = commands.add_parser(
        "serve", formatter_class=Help, epilog=settings_help(),
        help="run the collector, API, snippet and demo pages",
        description="Run POST /collect, /graphql (with GraphiQL), /sdk.js, /metrics, /healthz, "
        "/readyz and the demo pages. The store and the port are checked before it says it is up.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (0.0.0.0: every IPv4 interface)")
    parser.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535")
    parser.add_argument("--workers", type=_workers, default=1,
                        help="server processes sharing the port (MongoDB only: the SQLite store "
                        "takes one process)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, default=None,
                        help="log level (default: GIGMETRICS_LOG_LEVEL, else info: one line per "
                        "request)")
    parser.set_defaults(run=_serve)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: use 1-65535")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes: use 1 or more")
    return int(text)


def _serve(args: argparse.Namespace) -> int:
    serve(args.host, args.port, args.workers, args.log_level)
    return 0
