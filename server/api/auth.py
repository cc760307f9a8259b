"""Who is asking: a Bearer key becomes an `Access` (the admin, or a partner's sellers)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from ..edge.untrusted import shown
from ..errors import AuthError
from ..keys import hash_secret, same_secret
from ..model import now_ms
from ..settings import Settings
from ..stores.base import Store

log = logging.getLogger("gigmetrics.auth")

# `keys list` shows when a key was last used; a write per request would cost more than that.
LAST_USE_EVERY_MS = 60_000
HOW_TO_PASS = "send it as the HTTP header `Authorization: Bearer <key>`"


class Unauthenticated(AuthError):
    """No key, or a key that is unknown or revoked."""

    extensions: ClassVar[dict[str, str]] = {"code": "UNAUTHENTICATED"}


class Forbidden(AuthError):
    """A valid key asking for what it may not read or write."""

    extensions: ClassVar[dict[str, str]] = {"code": "FORBIDDEN"}


@dataclass(frozen=True, slots=True)
class Access:
    """What one request's key may do."""

    admin: bool
    sellers: frozenset[str] = frozenset()
    can_write: bool = False
    key_name: str | None = None
    # Who the key is, however its header was spelt: what per-key caps count by.
    key_id: str | None = None

    def may_read_seller(self, seller: str) -> bool:
        """True when this key may read the gigs of `seller`."""
        return self.admin or seller in self.sellers


ADMIN = Access(admin=True, can_write=True, key_name="admin", key_id="admin")


async def authenticate(header: str | None, store: Store, settings: Settings) -> Access:
    """The access of an `Authorization` header value; raises `Unauthenticated`."""
    if not header:
        raise Unauthenticated(
            f"an API key is required: {HOW_TO_PASS} (the admin key is GIGMETRICS_ADMIN_KEY; "
            "partner keys come from `gigmetrics keys create`)."
        )
    scheme, _, secret = header.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthenticated(
            f"the Authorization header is not a Bearer key: {HOW_TO_PASS}."
        )
    if settings.admin_key and same_secret(secret, settings.admin_key):
        return ADMIN
    key = await store.key_by_hash(hash_secret(secret))
    if key is None:
        raise Unauthenticated(
            f"this API key is not known: check that you {HOW_TO_PASS} with the whole secret "
            "(it starts with gm_), or ask for a new key."
        )
    if key.revoked is not None:
        when = datetime.fromtimestamp(key.revoked / 1000, tz=UTC).strftime("%Y-%m-%d")
        raise Unauthenticated(
            f"the API key {key.key_id!r} was revoked on {when}: ask for a new key."
        )
    now = now_ms()
    if key.expires is not None and now >= key.expires:
        when = datetime.fromtimestamp(key.expires / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
        raise Unauthenticated(
            f"the API key {key.key_id!r} expired on {when} UTC: ask for a new key."
        )
    if key.last_used is None or now - key.last_used >= LAST_USE_EVERY_MS:
        try:
            await store.touch_key(key.key_id, now)
        except Exception:  # last use is bookkeeping: it never refuses a request
            log.warning("could not record the last use of API key %s", key.key_id)
    return Access(
        admin=False, sellers=frozenset(key.sellers), can_write=key.can_write, key_name=key.name,
        key_id=key.key_id,
    )


def require_admin(access: Access, what: str) -> None:
    """Refuse unless the key is the admin key."""
    if not access.admin:
        raise Forbidden(f"{what} needs the admin key (GIGMETRICS_ADMIN_KEY).")


def require_write(access: Access) -> None:
    """Refuse unless the key may record events."""
    if not access.can_write:
        raise Forbidden(
            "this API key may only read: recordEvents needs a key with write permission "
            "(`gigmetrics keys create --write`) or the admin key."
        )


def require_seller(access: Access, seller: str) -> None:
    """Refuse a seller this key may not read."""
    if not access.may_read_seller(seller):
        raise Forbidden(
            f"this API key may not read seller {shown(seller)}; it may read "
            f"{_listing(access.sellers)}."
        )


def require_gigs(access: Access, gigs: Iterable[str], sellers: Mapping[str, str]) -> None:
    """Refuse any gig whose seller this key may not read (`sellers`: gig → known seller).

    "Another seller's gig", "a gig without a known seller" and "no such gig" get one and the
    same refusal, after the same reads: a partner must not learn whether a gig exists or
    whose it is.
    """
    if access.admin:
        return
    for gig in gigs:
        if sellers.get(gig) not in access.sellers:
            raise Forbidden(
                f"gig {shown(gig)} is not a gig this API key may read: it reads the gigs whose "
                f"events name one of its sellers ({_listing(access.sellers)}) as their seller. "
                "Check the gig id, and that the gig's events name its seller "
                "(`seller`, or data-gm-seller in the snippet)."
            )


def _listing(sellers: Iterable[str]) -> str:
    names = sorted(sellers)
    if not names:
        return "no sellers"
    return ", ".join(repr(s) for s in names)
