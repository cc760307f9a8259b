"""Signed listings: the operator's backend signs each tile of a listing render, and each gig
page, so the collector counts only what the operator really showed.

A token (`data-gm-sig` on a tile or on the gig page's element; the snippet sends it as the
event's `sig`) is `kid.iat.nonce.position.mac`:

- `kid` names the secret (GIGMETRICS_SIGNING_KEYS holds `kid:secret` pairs; the first signs,
  all verify, so keys rotate without a gap);
- `iat` is the render time (epoch ms, base 36); a token is fresh for SIGNATURE_TTL_MS;
- `nonce` is random per render: every tile of one render shares it;
- `position` is the tile's 1-based place in the listing (0 for a gig page);
- `mac` is HMAC-SHA256 (first 128 bits, base64url) over the surface, context, position, gig,
  seller, iat and nonce.

A render's tiles are its gigs in order, each bound to its position: an event can claim only
what the token signed. Replays are caught by the stores: a (nonce, position) backs one
impression (one page load for a page), each event type once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import SettingsError
from ..model import Event, EventType, Invalid, Trust

SIGNATURE_TTL_MS = 30 * 60 * 1000
# The browser's clock is corrected at the collector, the backend's is not: allow this much.
CLOCK_SLACK_MS = 60 * 1000
PAGE = "page"  # the surface signed for a gig page
_MAC_CHARS = 22  # 128 bits of base64url


@dataclass(frozen=True, slots=True)
class SigningKeys:
    """The secrets, by key id; the first one signs."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, raw: str, name: str = "GIGMETRICS_SIGNING_KEYS") -> SigningKeys:
        """`kid:secret,kid:secret`; a bad value names itself."""
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in raw.split(",") if p.strip()):
            kid, sep, secret = part.partition(":")
            if not sep or not kid.isalnum() or len(kid) > 16 or len(secret) < 16:
                raise SettingsError(
                    f"{name} has {kid[:16]!r}...: each key must be kid:secret, the kid 1-16 "
                    "letters or digits, the secret at least 16 characters (e.g. "
                    "k1:$(openssl rand -hex 32))."
                )
            keys.append((kid, secret.encode()))
        if not keys:
            raise SettingsError(f"{name} is empty: give at least one kid:secret.")
        return cls(tuple(keys))

    def secret(self, kid: str) -> bytes | None:
        """The secret of `kid`, or None."""
        return next((s for k, s in self.keys if k == kid), None)


def _mac(secret: bytes, surface: str, context: str, position: int, gig: str,
         seller: str, iat: str, nonce: str) -> str:
    message = "\x1f".join((surface, context, str(position), gig, seller, iat, nonce))
    digest = hmac.new(secret, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_MAC_CHARS]


def _token(keys: SigningKeys, surface: str, context: str, position: int, gig: str,
           seller: str | None, now: int, nonce: str) -> str:
    kid, secret = keys.keys[0]
    iat = _base36(now)
    mac = _mac(secret, surface, context, position, gig, seller or "", iat, nonce)
    return f"{kid}.{iat}.{nonce}.{position}.{mac}"


def sign_listing(
    keys: SigningKeys,
    surface: str,
    context: str | None,
    tiles: Sequence[tuple[str, str | None]],
    *,
    now: int,
    first_position: int = 1,
    nonce: str | None = None,
) -> list[str]:
    """One token per tile of a render: `tiles` are (gig, seller) in listing order, at
    positions `first_position`, `first_position + 1`, ... (put each in the tile's
    `data-gm-sig`). One nonce for the whole render."""
    nonce = nonce or new_nonce()
    return [
        _token(keys, surface, (context or "")[:128], first_position + i, gig, seller, now, nonce)
        for i, (gig, seller) in enumerate(tiles)
    ]


def sign_page(keys: SigningKeys, gig: str, seller: str | None, *, now: int,
              nonce: str | None = None) -> str:
    """The token of one render of a gig's own page (its `data-gm-page-gig` element's
    `data-gm-sig`)."""
    return _token(keys, PAGE, "", 0, gig, seller, now, nonce or new_nonce())


def new_nonce() -> str:
    """A render nonce: 96 random bits."""
    return secrets.token_urlsafe(12)


def check(keys: SigningKeys, event: Event, *, received: int) -> Event:
    """The event with its signature judged: invalid (a reason) when missing, forged or stale
    (`received`: when the server got it, epoch ms); else trusted to set its gig's owner, and
    naming the signed tile it spends."""
    if event.invalid is not None:
        return event
    reason, render = _judge(keys, event, received)
    if reason is not None:
        if event.type is EventType.ORDER:
            # An order's id is the marketplace's: stored under it, this untrusted report
            # would make the backend's trusted one (recordEvents) a duplicate, never counted.
            # Kept under an id no valid event has (`~` is outside the id alphabet).
            return event._replace(id=f"{event.id}~{reason}", invalid=reason, trust=Trust.CLAIM)
        return event._replace(invalid=reason, trust=Trust.CLAIM)
    return event._replace(render=render, trust=Trust.MOVE)


def _judge(keys: SigningKeys, event: Event, received: int) -> tuple[str | None, str | None]:
    if event.sig is None:
        return Invalid.UNSIGNED, None
    parts = event.sig.split(".")
    if len(parts) != 5 or not parts[3].isdigit():
        return Invalid.BAD_SIGNATURE, None
    kid, iat, nonce, position_text, mac = parts
    secret = keys.secret(kid)
    position = int(position_text)
    is_page = event.type is EventType.VIEW
    if secret is None or is_page != (position == 0):
        return Invalid.BAD_SIGNATURE, None
    if event.type is EventType.SERVED and event.position not in (None, position):
        return Invalid.BAD_SIGNATURE, None
    surface = PAGE if is_page else (event.surface.value if event.surface else "")
    context = "" if is_page else (event.context or "")
    expected = _mac(secret, surface, context, position, event.gig, event.seller or "", iat,
                    nonce)
    if not hmac.compare_digest(expected, mac):
        return Invalid.BAD_SIGNATURE, None
    try:
        issued = int(iat, 36)
    except ValueError:
        return Invalid.BAD_SIGNATURE, None
    # Fresh by the server's clock: the event's own time is the client's word, and a token
    # replayed days later would carry a time from inside its life.
    if event.ts - issued < -CLOCK_SLACK_MS or received - issued > SIGNATURE_TTL_MS:
        return Invalid.STALE_SIGNATURE, None
    return None, f"{nonce}.{position}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out
