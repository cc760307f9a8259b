"""JSON bodies from untrusted clients: orjson first, a tolerant second pass for the rest.

orjson refuses a whole document for one number it cannot hold as a double (`1e400`, a
10,000-digit integer) or one escaped lone surrogate (`"\\ud800"`). Those are legal JSON, and
one bad event must never spoil its batch, so such bodies are read again by the standard
library: out-of-range numbers become infinities and surrogates stay in their strings, for
`events.py` to reject just the events that hold them, each with its reason.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from ..errors import BadBatch

# Longer integers are out of any range an event allows (and `int()` refuses > 4300 digits).
_MAX_INT_DIGITS = 20


def loads(body: bytes) -> Any:
    """The decoded body; `BadBatch` saying what is wrong when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        first_error = str(exc)
    try:
        return json.loads(
            body.decode("utf-8"),
            parse_int=_int,
            parse_constant=_not_json,
        )
    except (ValueError, RecursionError):
        # The first parser's message is the better one (it names the line and column).
        raise BadBatch(f"the body is not valid JSON ({first_error})") from None


def _int(text: str) -> int | float:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        return float("-inf") if text.startswith("-") else float("inf")
    return int(text)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
