"""The `gigmetrics` command: serve, schema, keys, delete."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import re
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from . import __version__
from .edge.events import MAX_CONTEXT_CHARS
from .edge.signing import SigningKeys, sign_listing, sign_page
from .errors import CommandError, GigmetricsError, SettingsError
from .keys import new_key
from .model import Surface, now_ms
from .settings import DOCUMENTED, LOG_LEVELS, Settings
from .stores import SQLiteStore, open_store
from .stores.base import ApiKey, DeletedData, Store

if TYPE_CHECKING:
    import uvicorn

DESCRIPTION = (
    "Honest impression/click analytics for marketplace listings: a beacon collector, a "
    "GraphQL API, the browser snippet and demo pages."
)
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # the wire format's seller alphabet


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


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def settings_help() -> str:
    """The settings, as `--help` lists them."""
    width = max(len(name) for name, _, _ in DOCUMENTED)
    lines = ["settings (environment variables, read at start):"]
    for name, default, meaning in DOCUMENTED:
        lines.append(f"  {name:<{width}}  {meaning} [default: {default}]")
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gigmetrics", description=DESCRIPTION, epilog=settings_help(), formatter_class=_Help
    )
    parser.add_argument("--version", action="version", version=f"gigmetrics {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", formatter_class=_Help, epilog=settings_help(),
        help="run the collector, API, snippet and demo pages",
        description="Run POST /collect, /graphql (with GraphiQL), /sdk.js, /metrics, /healthz, "
        "/readyz and the demo pages. The store and the port are checked before it says it is up.",
    )
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (0.0.0.0: every IPv4 interface)")
    serve.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535")
    serve.add_argument("--workers", type=_workers, default=1,
                       help="server processes sharing the port (MongoDB only: the SQLite store "
                       "takes one process)")
    serve.add_argument("--log-level", choices=LOG_LEVELS, default=None,
                       help="log level (default: GIGMETRICS_LOG_LEVEL, else info: one line per "
                       "request)")
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo-traffic", formatter_class=_Help,
        help="fill an empty embedded store with 30 days of demo traffic (scripts/serve does)",
        description="Fill an empty store with generated demo traffic for the demo sellers; a "
        "store that has data is left alone.",
    )
    demo.set_defaults(run=_demo_traffic)

    schema = commands.add_parser("schema", formatter_class=_Help,
                                 help="print the GraphQL schema (SDL)",
                                 description="Print the schema the server serves, in SDL.")
    schema.add_argument("--output", "-o", help="write to this file instead of stdout")
    schema.set_defaults(run=_schema)

    keys = commands.add_parser(
        "keys", formatter_class=_Help, help="manage partner API keys",
        description="Partner API keys, stored in the database of GIGMETRICS_DATABASE_URL "
        "(each command says which one it used).",
    )
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser(
        "create", formatter_class=_Help, help="create a key scoped to sellers",
        description="Create a key that reads (and with --write records) the gigs of these "
        "sellers. Its secret is printed once: only its hash is stored.",
    )
    create.add_argument("--name", required=True, type=_name, help="who the key is for")
    create.add_argument("--seller", action="append", required=True, type=_seller,
                        help="a seller id the key may read (repeat for several)")
    create.add_argument("--write", action="store_true", help="may also call recordEvents")
    create.add_argument("--expires", type=_expiry, default=None,
                        help="refuse the key from then on: a UTC date YYYY-MM-DD or a number "
                        "of days like 90d (default: never)")
    create.add_argument("--new-database", action="store_true",
                        help="create the SQLite file if it does not exist yet (otherwise a "
                        "missing file is an error: the server would not know the key)")
    create.set_defaults(run=_keys_create)
    listing = key_commands.add_parser("list", formatter_class=_Help,
                                      help="list keys (never their secrets)",
                                      description="List every key, revoked ones too.")
    listing.set_defaults(run=_keys_list, new_database=False)
    revoke = key_commands.add_parser("revoke", formatter_class=_Help, help="revoke a key by id",
                                     description="Revoke a key: it is refused from now on.")
    revoke.add_argument("key_id", help="the id shown by `gigmetrics keys list`")
    revoke.set_defaults(run=_keys_revoke, new_database=False)

    gigs = commands.add_parser(
        "gigs", formatter_class=_Help, help="gig owners (which partner keys read a gig)",
        description="Who owns a gig decides which partner keys read it: set or move an owner, "
        "and see the claims beacons made for gigs others own.",
    )
    gig_commands = gigs.add_subparsers(required=True, metavar="ACTION")
    set_owner = gig_commands.add_parser("set-owner", formatter_class=_Help,
                                        help="set or move a gig's owner")
    set_owner.add_argument("gig", type=_gig_id)
    set_owner.add_argument("seller", type=_gig_id)
    set_owner.set_defaults(run=_gigs_set_owner, new_database=False)
    claims = gig_commands.add_parser(
        "claims",
        help="sellers named for gigs others own, latest first: gig, seller, events, first and "
        "last event (epoch ms), tab-separated",
    )
    claims.set_defaults(run=_gigs_claims, new_database=False)

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
    page_sign.add_argument("gig", type=_gig_id)
    page_sign.add_argument("--seller", type=_gig_id)
    page_sign.set_defaults(run=_sign_page)
    delete = commands.add_parser(
        "delete", formatter_class=_Help,
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
    return parser


# -- argument types ------------------------------------------------------------------------


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: use 1-65535")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes: use 1 or more")
    return int(text)


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the name is empty: say who the key is for")
    return text.strip()


def _seller(text: str) -> str:
    if not _ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seller id: 1-64 characters of A-Z a-z 0-9 _ . : -"
        )
    return text


def _expiry(text: str) -> int:
    now = datetime.now(UTC)
    if re.fullmatch(r"[1-9][0-9]{0,4}d", text):
        return int((now + timedelta(days=int(text[:-1]))).timestamp() * 1000)
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an expiry: use a UTC date like 2027-01-31 or days like 90d"
        ) from None
    if day <= now:
        raise argparse.ArgumentTypeError(f"{text} is not in the future")
    return int(day.timestamp() * 1000)


# -- serve ---------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .observability import prepare_workers, serve_metrics_port
    from .request_log import configure_logging
    from .serving import uvicorn_options

    if args.log_level:
        os.environ["GIGMETRICS_LOG_LEVEL"] = args.log_level  # the workers read it too
    settings = Settings.from_env()
    if args.workers > 1 and isinstance(open_store(settings.database_url), SQLiteStore):
        raise CommandError(
            f"--workers {args.workers} needs the MongoDB store. The embedded SQLite store has "
            "one writer per file, so run it as one process (it batches writes already), or set "
            "GIGMETRICS_DATABASE_URL=mongodb://host/dbname."
        )
    configure_logging(settings.log_format, settings.log_level)
    # Everything that can fail is checked before the banner: the port, the metrics port and
    # the store, in that order (the cheap checks first).
    listener = _listen(args.host, args.port, "--port")
    stop_metrics: Callable[[], None] = lambda: None  # noqa: E731
    if settings.metrics == "port" and settings.metrics_address is not None:
        host, port = settings.metrics_address
        _listen(host, port, "GIGMETRICS_METRICS").close()
        stop_metrics = serve_metrics_port(host, port, settings.admin_key)
    try:
        asyncio.run(_check_store(settings))
        cleanup = prepare_workers(args.workers)
        print(_banner(args, settings), flush=True)
        config = uvicorn.Config(
            "server.app:app_from_env",
            factory=True,
            workers=args.workers,
            log_level=settings.log_level,
            log_config=None,  # our handler formats uvicorn's lines too (plain or JSON)
            access_log=False,  # one line per request comes from RequestLog
            timeout_graceful_shutdown=5,
            **uvicorn_options(),  # event loop, HTTP protocol, slow-client timeouts
        )
        try:
            _run(config, listener)
        finally:
            cleanup()
    finally:
        stop_metrics()
        listener.close()
    return 0


def _run(config: uvicorn.Config, listener: socket.socket) -> None:
    """What `uvicorn.run` does, on a socket this command already bound."""
    from uvicorn import Server
    from uvicorn.supervisors.multiprocess import Multiprocess

    server = Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        raise CommandError("the server did not start: see the log lines above.")


def _listen(host: str, port: int, what: str) -> socket.socket:
    """Bind now, so a taken port is reported before anything says the server is up."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host!r}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = "it is in use (another gigmetrics?): stop that process or pick another"
        elif exc.errno == errno.EACCES:
            reason = "ports below 1024 need privileges: pick one above 1023"
        else:
            reason = f"{exc.strerror or exc}"
        raise CommandError(f"cannot listen on {host}:{port} ({what}): {reason}.") from None
    sock.set_inheritable(True)
    return sock


async def _check_store(settings: Settings) -> None:
    store = open_store(settings.database_url)
    await store.open()
    await store.close()


def _banner(args: argparse.Namespace, settings: Settings) -> str:
    metrics = {"off": "off", "main": "/metrics"}.get(settings.metrics) or (
        "http://{}:{}/metrics".format(*(settings.metrics_address or ("", 0)))
    )
    workers = f"; {args.workers} workers" if args.workers > 1 else ""
    return (
        f"gigmetrics {__version__} on http://{args.host}:{args.port}/  "
        f"(store: {describe_store(settings.database_url)}{workers}; GraphiQL: /graphql; "
        f"snippet: /sdk.js; metrics: {metrics})"
    )


def describe_store(url: str) -> str:
    """The store a URL names, for people: an absolute SQLite path, a password hidden."""
    store = open_store(url)
    if isinstance(store, SQLiteStore):
        return f"SQLite file {os.path.abspath(store.path)}"
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username}:***@{host}")
    return f"MongoDB {urlunsplit(parts)}"


# -- demo-traffic --------------------------------------------------------------------------


def _demo_traffic(args: argparse.Namespace) -> int:
    from .demo.traffic import fill_demo_store

    settings = Settings.from_env()

    async def run() -> int | None:
        store: Store = open_store(settings.database_url)
        await store.open()
        try:
            return await fill_demo_store(store, settings, now_ms())
        finally:
            await store.close()

    filled = asyncio.run(run())
    if filled is not None:
        print(f"Filled the empty demo store with {filled:,} events: 60 days of generated "
              "traffic for the demo sellers (event ids start with demo-).", flush=True)
    return 0


# -- schema --------------------------------------------------------------------------------


def _schema(args: argparse.Namespace) -> int:
    from .api import schema_sdl

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


# -- keys ----------------------------------------------------------------------------------


KeyAction = Callable[[Store, argparse.Namespace], Awaitable[int]]


def _with_store(action: KeyAction) -> Callable[[argparse.Namespace], int]:
    async def run(args: argparse.Namespace) -> int:
        url = Settings.from_env().database_url
        store: Store = open_store(url)
        if (isinstance(store, SQLiteStore) and not os.path.exists(store.path)
                and not args.new_database):
            raise CommandError(
                f"there is no database at {os.path.abspath(store.path)} "
                f"(GIGMETRICS_DATABASE_URL={url}). Run the command where the server runs, "
                "or set GIGMETRICS_DATABASE_URL to the server's database; "
                "`keys create --new-database` starts a new one here."
            )
        print(f"store: {describe_store(url)}", file=sys.stderr)
        await store.open()
        try:
            result: int = await action(store, args)
            return result
        finally:
            await store.close()

    return lambda args: asyncio.run(run(args))


@_with_store
async def _keys_create(store: Store, args: argparse.Namespace) -> int:
    record, secret = new_key(
        args.name, tuple(args.seller), can_write=args.write, now=now_ms(), expires=args.expires
    )
    await store.save_key(record)
    print(json.dumps({"id": record.key_id, "name": record.name, "sellers": list(record.sellers),
                      "write": record.can_write, "expires": _when(record.expires, "never"),
                      "secret": secret}, indent=2))
    print("Keep the secret now: it is not stored and cannot be shown again.", file=sys.stderr)
    return 0


KEY_COLUMNS = ("ID", "STATE", "ACCESS", "CREATED", "LAST USED", "EXPIRES", "NAME", "SELLERS")


@_with_store
async def _keys_list(store: Store, args: argparse.Namespace) -> int:
    keys = await store.keys()
    if not keys:
        print("no keys yet: create one with `gigmetrics keys create --name NAME --seller ID`",
              file=sys.stderr)
        return 0
    now = now_ms()
    rows = [KEY_COLUMNS, *(_key_row(key, now) for key in keys)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(KEY_COLUMNS) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)),
                         row[-1]]).rstrip())
    return 0


def _key_row(key: ApiKey, now: int) -> tuple[str, ...]:
    if key.revoked is not None:
        state = "revoked"
    elif key.expires is not None and key.expires <= now:
        state = "expired"
    else:
        state = "active"
    return (key.key_id, state, "write" if key.can_write else "read", _when(key.created),
            _when(key.last_used, "never"), _when(key.expires, "never"), key.name,
            ",".join(key.sellers))


def _when(ms: int | None, none: str = "-") -> str:
    if ms is None:
        return none
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


@_with_store
async def _keys_revoke(store: Store, args: argparse.Namespace) -> int:
    if not await store.revoke_key(args.key_id, now_ms()):
        print(f"gigmetrics: no key with id {args.key_id!r} (see `gigmetrics keys list`)",
              file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0



# -- gigs and sign -------------------------------------------------------------------------


@_with_store
async def _gigs_set_owner(store: Store, args: argparse.Namespace) -> int:
    await store.set_owner(args.gig, args.seller, now_ms())
    print(f"{args.gig} now belongs to {args.seller}")
    return 0


@_with_store
async def _gigs_claims(store: Store, args: argparse.Namespace) -> int:
    for claim in await store.gig_claims(500):
        print(f"{claim.gig}\t{claim.seller}\t{claim.events}\t{claim.first}\t{claim.last}")
    return 0


def _signing_keys() -> SigningKeys:
    keys = Settings.from_env().signing_keys
    if keys is None:
        raise SettingsError(
            "GIGMETRICS_SIGNING_KEYS is not set: give kid:secret pairs, e.g. "
            "GIGMETRICS_SIGNING_KEYS=k1:$(openssl rand -hex 32)."
        )
    return keys


def _gig_id(text: str) -> str:
    if not _ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r} is not a gig or seller id: 1 to 64 characters of A-Z a-z 0-9 _ . : -"
        )
    return text


def _tile(text: str) -> tuple[str, str | None]:
    gig, _, seller = text.partition("=")
    return _gig_id(gig), _gig_id(seller) if seller else None


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



@_with_store
async def _delete(store: Store, args: argparse.Namespace) -> int:
    gigs = [args.gig] if args.gig else await store.gigs_of_sellers([args.seller])
    what = (f"gig {args.gig!r}" if args.gig else
            f"seller {args.seller!r} ({len(gigs)} gigs: {', '.join(gigs[:5])}"
            f"{', ...' if len(gigs) > 5 else ''})")
    if not args.yes:
        print(f"This deletes everything stored of {what}. It cannot be undone: run again "
              "with --yes to delete.", file=sys.stderr)
        return 1
    deleted: DeletedData = await store.delete_data(gigs, seller=args.seller)
    print(json.dumps(asdict(deleted), indent=2))
    print(f"deleted everything stored of {what}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
