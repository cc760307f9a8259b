"""Bounded, never-raising renderings of untrusted input, for rejection reasons and copies.

Hostile input may be nested deeper than the recursion limit, hold megabytes of text, lone
surrogates, or integers too long for `str()`; nothing here may fail on it.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

RAW_COPY_CHARS = 1024
_RAW_COPY_DEPTH = 32


def json_kind(value: Any) -> str:
    """How a JSON value is called in messages ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def is_unicode(text: str) -> bool:
    """False for text with lone surrogates, which UTF-8 stores cannot hold."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(value: Any) -> str:
    """A short, safe rendering of a bad value for a rejection reason."""
    text = repr(value[:81]) if isinstance(value, str) else raw_copy(value, limit=81)
    return text if len(text) <= 80 else text[:77] + "..."


class _CopyFull(Exception):
    pass


def raw_copy(raw: Any, limit: int = RAW_COPY_CHARS) -> str:
    """JSON-ish text of `raw`, at most `limit` chars, without ever raising.

    Written out by hand, and stopped early, because hostile input may be nested deeper than
    the recursion limit, hold megabytes of text, or integers too long for `str()`.
    """
    out: list[str] = []
    room = limit

    def put(text: str) -> None:
        nonlocal room
        out.append(text[:room])
        room -= len(text)
        if room <= 0:
            raise _CopyFull

    def walk(value: Any, depth: int) -> None:
        if depth > _RAW_COPY_DEPTH:
            put('"..."')
        elif isinstance(value, dict):
            put("{")
            for i, (key, item) in enumerate(value.items()):
                put(", " if i else "")
                put(_scalar_copy(key if isinstance(key, str) else _scalar_copy(key)) + ": ")
                walk(item, depth + 1)
            put("}")
        elif isinstance(value, list | tuple):
            put("[")
            for i, item in enumerate(value):
                put(", " if i else "")
                walk(item, depth + 1)
            put("]")
        else:
            put(_scalar_copy(value))

    with contextlib.suppress(_CopyFull):
        walk(raw, 0)
    # Lone surrogates (legal in JSON text) cannot be stored as UTF-8: escape them.
    text = "".join(out).encode("utf-8", "backslashreplace").decode("utf-8")
    return text[:limit]


def _scalar_copy(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value[:RAW_COPY_CHARS], ensure_ascii=False)
    if value is None or isinstance(value, bool | float):
        return json.dumps(value)
    if isinstance(value, int):
        return json.dumps(value) if abs(value) < 10**100 else '"<a very long integer>"'
    return json.dumps(str(value)[:RAW_COPY_CHARS], ensure_ascii=False)
