"""Relay-style pages over a sorted list, with opaque cursors that survive inserts."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..edge.untrusted import shown
from ..errors import QueryError

MAX_PAGE = 100
DEFAULT_PAGE = 20

_NOT_A_CURSOR = (
    "after {cursor} is not a cursor of this API: pass pageInfo.endCursor (or an edge's "
    "cursor) from the previous page."
)
# Far longer than any cursor this API makes: nothing longer is decoded at all.
MAX_CURSOR_CHARS = 1024

T = TypeVar("T")
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page: its items with their cursors, and where it is in the list."""

    items: list[tuple[str, T]]
    has_next: bool
    has_previous: bool
    total: int


def paginate(
    items: Sequence[T], key: Callable[[T], Key], *, first: int, after: str | None, list_name: str
) -> Page[T]:
    """The `first` items after the cursor `after`; `items` must be sorted by `key`."""
    if first < 0 or first > MAX_PAGE:
        raise QueryError(
            f"first is {first}: a page holds 0 to {MAX_PAGE} gigs; ask for at most "
            f"{MAX_PAGE} and follow pageInfo.endCursor for more."
        )
    keys = [key(item) for item in items]
    start = 0
    if after is not None:
        cursor_key = decode_cursor(after, list_name)
        try:
            start = bisect.bisect_right(keys, cursor_key)
        except TypeError:  # well-formed JSON, but not a key this list made
            raise QueryError(_NOT_A_CURSOR.format(cursor=shown(after))) from None
    chosen = range(start, min(start + first, len(items)))
    return Page(
        items=[(encode_cursor(list_name, keys[i]), items[i]) for i in chosen],
        has_next=start + first < len(items),
        has_previous=start > 0,
        total=len(items),
    )


def encode_cursor(list_name: str, key: Key) -> str:
    """An opaque cursor for the item with sort key `key` in the list `list_name`."""
    raw = json.dumps([list_name, list(key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, list_name: str) -> Key:
    """The sort key in `cursor`; a clear error for cursors that are not from this list."""
    not_a_cursor = QueryError(_NOT_A_CURSOR.format(cursor=shown(cursor)))
    if len(cursor) > MAX_CURSOR_CHARS:
        raise not_a_cursor
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise not_a_cursor from None
    if not isinstance(key, list) or not all(map(_is_key_part, key)):
        raise not_a_cursor
    if name != list_name:
        raise QueryError(
            "after is a cursor of another list: pass pageInfo.endCursor from the same field "
            "with the same sellerId and order."
        )
    return tuple(key)


def _is_key_part(value: Any) -> bool:
    # The keys this API makes hold only scalars; nested JSON is someone else's making.
    return value is None or isinstance(value, str | int | float | bool)
