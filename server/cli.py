"""The `gigmetrics` command: serve, schema, keys, delete."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any

from .errors import GigmetricsError
from .ingest import now_ms
from .keys import new_key
from .settings import Settings
from .stores import SQLiteStore, open_store
from .stores.base import DeletedData, Store


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

    delete = commands.add_parser(
        "delete",
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
    delete.set_defaults(run=_delete)
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


def _delete(args: argparse.Namespace) -> int:
    url = Settings.from_env().database_url
    store: Store = open_store(url)
    if isinstance(store, SQLiteStore) and not os.path.exists(store.path):
        print(f"gigmetrics: there is no database at {os.path.abspath(store.path)} "
              f"(GIGMETRICS_DATABASE_URL={url}): nothing to delete. Run the command where "
              "the server runs, or set GIGMETRICS_DATABASE_URL to its database.",
              file=sys.stderr)
        return 2
    print(f"store: {shown_url(url)}", file=sys.stderr)

    async def run() -> int:
        await store.open()
        try:
            gigs = [args.gig] if args.gig else await store.gigs_of_sellers([args.seller])
            what = (f"gig {args.gig!r}" if args.gig else
                    f"seller {args.seller!r} ({len(gigs)} gigs: {', '.join(gigs[:5])}"
                    f"{', ...' if len(gigs) > 5 else ''})")
            if not args.yes:
                print(f"This deletes everything stored of {what}. It cannot be undone: run "
                      "again with --yes to delete.", file=sys.stderr)
                return 1
            deleted: DeletedData = await store.delete_data(gigs, seller=args.seller)
            print(json.dumps(asdict(deleted), indent=2))
            print(f"deleted everything stored of {what}", file=sys.stderr)
            return 0
        finally:
            await store.close()

    return asyncio.run(run())


def shown_url(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}{sep}{credentials.split(':', 1)[0]}:***@{host}"


if __name__ == "__main__":
    sys.exit(main())
