"""`gigmetrics keys create|list|revoke`: partner API keys in the server's store."""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ..keys import new_key
from ..model import now_ms
from ..stores.base import ApiKey, Store
from .parsing import Help, seller_id
from .stored import with_store

if TYPE_CHECKING:
    from .parsing import Commands


def register(commands: Commands) -> None:
    """Add `keys` and its actions to the commands."""
    keys = commands.add_parser(
        "keys", formatter_class=Help, help="manage partner API keys",
        description="Partner API keys, stored in the database of GIGMETRICS_DATABASE_URL "
        "(each command says which one it used).",
    )
    key_commands = keys.add_subparsers(required=True, metavar="ACTION")
    create = key_commands.add_parser(
        "create", formatter_class=Help, help="create a key scoped to sellers",
        description="Create a key that reads (and with --write records) the gigs of these "
        "sellers. Its secret is printed once: only its hash is stored.",
    )
    create.add_argument("--name", required=True, type=_name, help="who the key is for")
    create.add_argument("--seller", action="append", required=True, type=seller_id,
                        help="a seller id the key may read (repeat for several)")
    create.add_argument("--write", action="store_true", help="may also call recordEvents")
    create.add_argument("--expires", type=_expiry, default=None,
                        help="refuse the key from then on: a UTC date YYYY-MM-DD or a number "
                        "of days like 90d (default: never)")
    create.add_argument("--new-database", action="store_true",
                        help="create the SQLite file if it does not exist yet (otherwise a "
                        "missing file is an error: the server would not know the key)")
    create.set_defaults(run=_keys_create)
    listing = key_commands.add_parser("list", formatter_class=Help,
                                      help="list keys (never their secrets)",
                                      description="List every key, revoked ones too.")
    listing.set_defaults(run=_keys_list, new_database=False)
    revoke = key_commands.add_parser("revoke", formatter_class=Help, help="revoke a key by id",
                                     description="Revoke a key: it is refused from now on.")
    revoke.add_argument("key_id", help="the id shown by `gigmetrics keys list`")
    revoke.set_defaults(run=_keys_revoke, new_database=False)


def _name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("the name is empty: say who the key is for")
    return text.strip()


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


@with_store
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


@with_store
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


@with_store
async def _keys_revoke(store: Store, args: argparse.Namespace) -> int:
    if not await store.revoke_key(args.key_id, now_ms()):
        print(f"gigmetrics: no key with id {args.key_id!r} (see `gigmetrics keys list`)",
              file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0
