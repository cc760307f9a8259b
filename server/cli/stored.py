"""Commands run against the server's store (GIGMETRICS_DATABASE_URL), which they name."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable

from ..errors import CommandError
from ..serving import describe_store
from ..settings import Settings
from ..stores import SQLiteStore, open_store
from ..stores.base import Store

StoreAction = Callable[[Store, argparse.Namespace], Awaitable[int]]


def with_store(action: StoreAction) -> Callable[[argparse.Namespace], int]:
    """`action` as a command: on the open store, never on a SQLite file made up here."""

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
