"""All settings, typed and read once from GIGMETRICS_* environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from .errors import SettingsError
from .events import CLICK_SURFACES_DEFAULT, Surface

DEFAULT_DATABASE_URL = "sqlite:///gigmetrics.db"


@dataclass(frozen=True)
class Settings:
    """What the server needs to know; build it with `Settings.from_env()`."""

    database_url: str = DEFAULT_DATABASE_URL
    allowed_origins: tuple[str, ...] = ("*",)
    api_origins: tuple[str, ...] = ()
    admin_key: str | None = None
    graphiql: bool = True
    demo: bool = True
    raw_retention_days: int = 35
    bucket_retention_days: int = 400
    click_surfaces: frozenset[Surface] = field(default=CLICK_SURFACES_DEFAULT)
    max_backdate_days: int = 7
    live_max_per_key: int = 20
    live_max_subscriptions: int = 1000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every GIGMETRICS_* variable; a bad value names itself."""
        env = os.environ if env is None else env
        raw_days = _int(env, "GIGMETRICS_RAW_RETENTION_DAYS", 35, minimum=8)
        bucket_days = _int(env, "GIGMETRICS_BUCKET_RETENTION_DAYS", 400, minimum=90)
        return cls(
            database_url=_database_url(env),
            allowed_origins=_origins(env, "GIGMETRICS_ALLOWED_ORIGINS", "*"),
            api_origins=_origins(env, "GIGMETRICS_API_ORIGINS", ""),
            admin_key=env.get("GIGMETRICS_ADMIN_KEY") or None,
            graphiql=_bool(env, "GIGMETRICS_GRAPHIQL", True),
            demo=_bool(env, "GIGMETRICS_DEMO", True),
            raw_retention_days=raw_days,
            bucket_retention_days=bucket_days,
            click_surfaces=_surfaces(env),
            live_max_per_key=_int(env, "GIGMETRICS_LIVE_MAX_PER_KEY", 20, minimum=1),
            live_max_subscriptions=_int(
                env, "GIGMETRICS_LIVE_MAX_SUBSCRIPTIONS", 1000, minimum=1
            ),
        )


def _database_url(env: Mapping[str, str]) -> str:
    url = env.get("GIGMETRICS_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
    if not url.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
        raise SettingsError(
            f"GIGMETRICS_DATABASE_URL={url!r} is not supported: use sqlite:///path/to/file.db "
            "or mongodb://host/dbname (or mongodb+srv://...)."
        )
    return url


def _origins(env: Mapping[str, str], name: str, default: str) -> tuple[str, ...]:
    raw = env.get(name, default)
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(
                f"{name} has {origin!r}: each origin must look like "
                "https://shop.example.com (scheme and host, no path), or be *."
            )
    return origins or tuple(o for o in (default,) if o)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false.")


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise SettingsError(f"{name}={value} is too small: it must be at least {minimum}.")
    return value


def _surfaces(env: Mapping[str, str]) -> frozenset[Surface]:
    raw = env.get("GIGMETRICS_CLICK_SURFACES")
    if not raw:
        return CLICK_SURFACES_DEFAULT
    names = [s.strip() for s in raw.split(",") if s.strip()]
    known = {s.value for s in Surface}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SettingsError(
            f"GIGMETRICS_CLICK_SURFACES has {unknown or raw!r}: "
            f"use a comma-separated list of {', '.join(sorted(known))}."
        )
    return frozenset(Surface(n) for n in names)
