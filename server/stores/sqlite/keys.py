"""API keys in the SQLite file: functions of a connection, the writes run by the writer and
the lookups by a reader (`store.py`). Only the secret's hash is stored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..base import ApiKey

KEY_COLUMNS = (
    "key_id, secret_hash, name, sellers, can_write, created, revoked, expires, last_used"
)


def save_key(key: ApiKey, conn: sqlite3.Connection) -> None:
    """Store a new API key (its id and secret hash must be new)."""
    row = (
        key.key_id,
        key.secret_hash,
        key.name,
        json.dumps(list(key.sellers)),
        int(key.can_write),
        key.created,
        key.revoked,
        key.expires,
        key.last_used,
    )
    conn.execute(f"INSERT INTO api_keys ({KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)


def keys(conn: sqlite3.Connection) -> list[ApiKey]:
    """All API keys, revoked ones too, oldest first."""
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created, key_id"
    return [_api_key(row) for row in conn.execute(sql)]


def key_by_hash(secret_hash: str, conn: sqlite3.Connection) -> ApiKey | None:
    """The key whose secret hashes to `secret_hash`, revoked or not."""
    sql = f"SELECT {KEY_COLUMNS} FROM api_keys WHERE secret_hash = ?"
    row = conn.execute(sql, (secret_hash,)).fetchone()
    return None if row is None else _api_key(row)


def revoke_key(key_id: str, when: int, conn: sqlite3.Connection) -> bool:
    """Mark a key revoked (the first revocation time stays); False when there is none."""
    sql = "UPDATE api_keys SET revoked = COALESCE(revoked, ?) WHERE key_id = ?"
    changed: int = conn.execute(sql, (when, key_id)).rowcount
    return changed > 0


def touch_key(key_id: str, when: int, conn: sqlite3.Connection) -> None:
    """Record a use of the key; `last_used` only moves forward."""
    sql = "UPDATE api_keys SET last_used = MAX(COALESCE(last_used, 0), ?) WHERE key_id = ?"
    conn.execute(sql, (when, key_id))


def _api_key(row: tuple[Any, ...]) -> ApiKey:
    key_id, secret_hash, name, sellers, can_write, created, revoked, expires, last_used = row
    return ApiKey(
        key_id, secret_hash, name, tuple(json.loads(sellers)), bool(can_write), created,
        revoked, expires, last_used,
    )
