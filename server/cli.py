"""The `gigmetrics` command: serve, schema, keys, gigs, sign."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from .errors import GigmetricsError, SettingsError
from .events import GIG_ID, MAX_CONTEXT_CHARS, Surface
from .ingest import now_ms
from .keys import new_key
from .settings import Settings
from .signing import SigningKeys, sign_listing, sign_page
from .stores import open_store
from .stores.base import Store


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
    parser = argparse.ArgumentParser(prog="gigmetrics", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the collector, API, snippet and demo pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--log-level", default="info")
    serve.add_argument(
        "--workers", type=int, default=1,
        help="worker processes sharing the port (MongoDB only; default 1)",
    )
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo-traffic",
        help="fill an empty embedded store with 30 days of demo traffic (scripts/serve does)",
    )
    demo.set_defaults(run=_demo_traffic)

    schema = commands.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.add_argument("--output", "-o", help="write to this file instead of stdout")
    schema.set_defaults(run=_schema)

    keys = commands.add_parser("keys", help="manage partner API keys")
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="create a key scoped to sellers")
    create.add_argument("--name", required=True, help="who the key is for")
    create.add_argument(
        "--seller", action="append", required=True, help="a seller id the key may read (repeat)"
    )
    create.add_argument("--write", action="store_true", help="may also call recordEvents")
    create.set_defaults(run=_keys_create)
    listing = key_commands.add_parser("list", help="list keys (never their secrets)")
    listing.set_defaults(run=_keys_list)
    revoke = key_commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=_keys_revoke)

    gigs = commands.add_parser("gigs", help="gig owners (which partner keys read a gig)")
    gig_commands = gigs.add_subparsers(required=True, metavar="ACTION")
    set_owner = gig_commands.add_parser("set-owner", help="set or move a gig's owner")
    set_owner.add_argument("gig", type=_gig_id)
    set_owner.add_argument("seller", type=_gig_id)
    set_owner.set_defaults(run=_gigs_set_owner)
    claims = gig_commands.add_parser(
        "claims",
        help="sellers named for gigs others own, latest first: gig, seller, events, first and "
        "last event (epoch ms), tab-separated",
    )
    claims.set_defaults(run=_gigs_claims)

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
    return parser


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app
    from .serving import uvicorn_options

    settings = Settings.from_env()
    if args.workers < 1:
        print(f"gigmetrics: --workers must be 1 or more, not {args.workers}", file=sys.stderr)
        return 2
    if args.workers > 1 and not settings.database_url.startswith("mongodb"):
        print(
            f"gigmetrics: --workers {args.workers} needs the MongoDB store. The embedded SQLite "
            "store has one writer per file, so run it as one process (it batches writes "
            "already), or set GIGMETRICS_DATABASE_URL=mongodb://host/dbname.",
            file=sys.stderr,
        )
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    print(
        f"gigmetrics on http://{args.host}:{args.port}/  (store: {settings.database_url}; "
        f"GraphiQL: /graphql; snippet: /sdk.js)",
        flush=True,
    )
    # Several workers each build the app from the environment (a factory by import path).
    app: Any = create_app(settings) if args.workers == 1 else "server.app:create_app"
    uvicorn.run(
        app,
        factory=args.workers > 1,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
        **uvicorn_options(),
    )
    return 0


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


def _schema(args: argparse.Namespace) -> int:
    from .api import schema_sdl

    sdl = schema_sdl()
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


KeyAction = Callable[[Store, argparse.Namespace], Awaitable[int]]


def _with_store(action: KeyAction) -> Callable[[argparse.Namespace], int]:
    async def run(args: argparse.Namespace) -> int:
        store: Store = open_store(Settings.from_env().database_url)
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
        args.name, tuple(args.seller), can_write=args.write, now=now_ms()
    )
    await store.save_key(record)
    print(json.dumps({"id": record.key_id, "name": record.name, "sellers": list(record.sellers),
                      "write": record.can_write, "secret": secret}, indent=2))
    print("Keep the secret now: it is not stored and cannot be shown again.", file=sys.stderr)
    return 0


@_with_store
async def _keys_list(store: Store, args: argparse.Namespace) -> int:
    for key in await store.keys():
        state = "revoked" if key.revoked else "active"
        print(f"{key.key_id}\t{state}\t{'write' if key.can_write else 'read'}\t"
              f"{key.name}\t{','.join(key.sellers)}")
    return 0


@_with_store
async def _keys_revoke(store: Store, args: argparse.Namespace) -> int:
    if not await store.revoke_key(args.key_id, now_ms()):
        print(f"gigmetrics: no key with id {args.key_id!r} (see `gigmetrics keys list`)",
              file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0



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
    if not GIG_ID.fullmatch(text):
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


if __name__ == "__main__":
    sys.exit(main())
