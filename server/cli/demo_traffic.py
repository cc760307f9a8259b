"""`gigmetrics demo-traffic`: fill an empty store with generated demo traffic."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING

from ..demo.traffic import DAYS
from ..model import now_ms
from ..settings import Settings
from ..stores import open_store
from ..stores.base import Store
from .parsing import Help

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `demo-traffic` to the commands."""
    parser = commands.add_parser(
        "demo-traffic", formatter_class=Help,
        help=f"fill an empty embedded store with {DAYS} days of demo traffic (scripts/serve "
        "does)",
        description=f"Fill an empty store with {DAYS} days of generated demo traffic for the "
        "demo sellers (the last 30 days and the 30 before them, so the dashboard's changes "
        "have something to compare with); a store that has data is left alone.",
    )
    parser.set_defaults(run=_demo_traffic)


def _demo_traffic(args: argparse.Namespace) -> int:
    from ..demo.traffic import fill_demo_store

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
        print(f"Filled the empty demo store with {filled:,} events: {DAYS} days of generated "
              "traffic for the demo sellers (event ids start with demo-).", flush=True)
    return 0
