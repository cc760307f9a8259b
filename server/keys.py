"""API keys: how secrets are made and hashed. Only the hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from .stores.base import ApiKey

SECRET_PREFIX = "gm_"


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a key's secret (keys are long random strings, so no salt is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(given.encode(), expected.encode())


def new_key(
    name: str, sellers: tuple[str, ...], *, can_write: bool, now: int, expires: int | None = None
) -> tuple[ApiKey, str]:
    """A new key record and its secret; the secret is shown once and never stored."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        key_id="k_" + secrets.token_hex(6),
        secret_hash=hash_secret(secret),
        name=name,
        sellers=sellers,
        can_write=can_write,
        created=now,
        expires=expires,
    )
    return record, secret
