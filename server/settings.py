"""All settings, typed and read once from GIGMETRICS_* environment variables."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .edge.signing import SigningKeys
from .edge.traffic import RATE_LIMITS_DEFAULT, TrafficLimits
from .errors import SettingsError
from .model import CLICK_SURFACES_DEFAULT, PARTITIONS, Surface

DEFAULT_DATABASE_URL = "sqlite:///gigmetrics.db"
# What browser clients of the API send: the key, JSON, Apollo's client awareness, a trace id.
API_HEADERS_DEFAULT = (
    "authorization,content-type,apollographql-client-name,apollographql-client-version,"
    "x-request-id"
)

# Every setting with its default and meaning: `gigmetrics --help` prints this, and a test
# checks that the README mentions no other.
DOCUMENTED: tuple[tuple[str, str, str], ...] = (
    ("GIGMETRICS_DATABASE_URL", DEFAULT_DATABASE_URL,
     "sqlite:///path/file.db (relative to the working directory; the folder must exist) "
     "or mongodb://host/dbname, mongodb+srv://..."),
    ("GIGMETRICS_ALLOWED_ORIGINS", "*",
     "comma-separated origins whose pages may send beacons, e.g. https://shop.example.com"),
    ("GIGMETRICS_API_ORIGINS", "(none)",
     "comma-separated origins of browser dashboards that may call /graphql"),
    ("GIGMETRICS_API_HEADERS", API_HEADERS_DEFAULT,
     "request headers browser pages of GIGMETRICS_API_ORIGINS may send to /graphql"),
    ("GIGMETRICS_ADMIN_KEY", "(unset)", "the key that reads and writes everything"),
    ("GIGMETRICS_GRAPHIQL", "true", "serve GraphiQL on GET /graphql"),
    ("GIGMETRICS_DEMO", "true (false with signing on)",
     "serve the demo pages; they sign tiles for anyone, so with GIGMETRICS_SIGNING_KEYS set "
     "they are off unless this says true"),
    ("GIGMETRICS_CLICK_SURFACES", "search,category", "surfaces whose clicks are `clicks`"),
    ("GIGMETRICS_RAW_RETENTION_DAYS", "35", "days raw events are kept (at least 8)"),
    ("GIGMETRICS_BUCKET_RETENTION_DAYS", "400",
     "days 15-minute rollups are kept (at least 90)"),
    ("GIGMETRICS_SIGNING_KEYS", "(unset)",
     "kid:secret,...: count only listings and pages your backend signed; the first key "
     "signs, all verify (rotation)"),
    ("GIGMETRICS_RATE_LIMITS", RATE_LIMITS_DEFAULT,
     "over-rate screens of /collect: KEY=N/unit (ip, pv, tiles) or KEY=off, or off for all"),
    ("GIGMETRICS_METRICS", "main",
     "Prometheus /metrics: off, main (on the server's port) or [HOST:]PORT of its own "
     "(host 127.0.0.1 unless given); loopback scrapes need no key, others the admin key"),
    ("GIGMETRICS_SQLITE_WRITER", "process",
     "who counts and writes beacons on the embedded store: process (a writer process of its "
     "own, beside the event loop) or thread (inside the server process)"),
    ("GIGMETRICS_SQLITE_SYNCHRONOUS", "full",
     "how durable an acknowledged beacon is on the embedded store: full (fsynced at its group's "
     "commit: survives a power cut) or normal (survives a crash of the server, not of the "
     "machine; faster)"),
    ("GIGMETRICS_MONGO_PARTITION_GROUPS", "1",
     "on MongoDB, the zones of gig partitions (p, 0-1023) a beacon is split into, one "
     "transaction each: 1 for a replica set, the number of shard zones on a sharded cluster "
     "(1 to 1024)"),
    ("GIGMETRICS_LOG_FORMAT", "plain", "one line per request: plain or json"),
    ("GIGMETRICS_LOG_LEVEL", "info",
     "debug, info (a line per request), warning, error or critical; --log-level sets it"),
    ("GIGMETRICS_LIVE_MAX_PER_KEY", "20",
     "live subscriptions one API key may hold open on one server process (at least 1)"),
    ("GIGMETRICS_LIVE_MAX_SUBSCRIPTIONS", "1000",
     "live subscriptions one server process holds at most (at least 1)"),
    ("GIGMETRICS_WS_MAX_PER_ADDRESS", "50",
     "WebSockets one client address may hold open on one server process, idle ones included "
     "(at least 1; behind a proxy every client shares its address: raise it)"),
    ("GIGMETRICS_TRUSTED_DOCUMENTS", "(unset)",
     "a JSON file of the only GraphQL documents to run ({sha256: document} or an Apollo "
     "persisted query manifest); others are refused (production)"),
)
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


@dataclass(frozen=True)
class Settings:
    """What the server needs to know; build it with `Settings.from_env()`."""

    database_url: str = DEFAULT_DATABASE_URL
    allowed_origins: tuple[str, ...] = ("*",)
    api_origins: tuple[str, ...] = ()
    api_headers: tuple[str, ...] = tuple(API_HEADERS_DEFAULT.split(","))
    admin_key: str | None = None
    graphiql: bool = True
    demo: bool = True
    raw_retention_days: int = 35
    bucket_retention_days: int = 400
    click_surfaces: frozenset[Surface] = field(default=CLICK_SURFACES_DEFAULT)
    max_backdate_days: int = 7
    # Signed listings (server/edge/signing.py): None is the zero-set-up default, nothing signed.
    signing_keys: SigningKeys | None = None
    # Over-rate screens for anonymous beacons (server/edge/traffic.py).
    rate_limits: TrafficLimits = field(default_factory=TrafficLimits)
    live_max_per_key: int = 20
    live_max_subscriptions: int = 1000
    ws_max_per_address: int = 50
    trusted_documents: str | None = None  # a file path (api/documents.py reads it)
    metrics: str = "main"  # off | main | port (then metrics_address)
    metrics_address: tuple[str, int] | None = None
    log_format: str = "plain"
    log_level: str = "info"
    # The SQLite writer (stores/sqlite/writer_process.py). From the environment (`serve`):
    # "process"; an app built in code (tests, embedding) keeps it in its own process.
    sqlite_writer: str = "thread"
    sqlite_synchronous: str = "full"
    # MongoDB: one transaction per zone of gig partitions a beacon touches (mongo/ingest.py).
    mongo_partition_groups: int = 1

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read every GIGMETRICS_* variable; a bad value names itself."""
        env = os.environ if env is None else env
        raw_days = _int(env, "GIGMETRICS_RAW_RETENTION_DAYS", 35, minimum=8)
        bucket_days = _int(env, "GIGMETRICS_BUCKET_RETENTION_DAYS", 400, minimum=90)
        signing_keys = _signing_keys(env)
        return cls(
            database_url=_database_url(env),
            allowed_origins=_origins(env, "GIGMETRICS_ALLOWED_ORIGINS", "*"),
            api_origins=_origins(env, "GIGMETRICS_API_ORIGINS", ""),
            api_headers=_headers(env),
            admin_key=env.get("GIGMETRICS_ADMIN_KEY") or None,
            graphiql=_bool(env, "GIGMETRICS_GRAPHIQL", True),
            # The demo pages sign with the server's keys for whoever asks: with signing on, a
            # scraped demo token could move a real gig's owner.
            demo=_bool(env, "GIGMETRICS_DEMO", signing_keys is None),
            raw_retention_days=raw_days,
            bucket_retention_days=bucket_days,
            click_surfaces=_surfaces(env),
            signing_keys=signing_keys,
            rate_limits=_rate_limits(env),
            live_max_per_key=_int(env, "GIGMETRICS_LIVE_MAX_PER_KEY", 20, minimum=1),
            live_max_subscriptions=_int(
                env, "GIGMETRICS_LIVE_MAX_SUBSCRIPTIONS", 1000, minimum=1
            ),
            ws_max_per_address=_int(env, "GIGMETRICS_WS_MAX_PER_ADDRESS", 50, minimum=1),
            trusted_documents=env.get("GIGMETRICS_TRUSTED_DOCUMENTS", "").strip() or None,
            **_metrics(env),
            log_format=_choice(env, "GIGMETRICS_LOG_FORMAT", "plain", ("plain", "json")),
            log_level=_choice(env, "GIGMETRICS_LOG_LEVEL", "info", LOG_LEVELS),
            sqlite_writer=_choice(
                env, "GIGMETRICS_SQLITE_WRITER", "process", ("process", "thread")
            ),
            sqlite_synchronous=_choice(
                env, "GIGMETRICS_SQLITE_SYNCHRONOUS", "full", ("full", "normal")
            ),
            mongo_partition_groups=_partition_groups(env),
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
    if raw.strip() == "":
        return tuple(o for o in (default,) if o)
    if ";" in raw or any(" " in part.strip() for part in raw.split(",")):
        raise SettingsError(f"{name}={raw!r}: separate origins with commas, e.g. {_ORIGIN_EG}.")
    parts = [part.strip() for part in raw.split(",")]
    if not any(parts):
        raise SettingsError(
            f"{name}={raw!r} names no origin: give a comma-separated list like {_ORIGIN_EG}"
            + (", or * for any origin." if default == "*" else ", or leave it unset.")
        )
    return tuple(_origin(name, part) for part in parts if part)


_ORIGIN_EG = "https://shop.example.com,https://www.shop.example.com"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(\.{_LABEL})*|\[[0-9a-f:.]+\]")


def _origin(name: str, raw: str) -> str:
    """One origin as browsers send it in the `Origin` header: scheme://host[:port], lowercase,
    without the default port. Anything else could never match, so it is refused."""
    if raw == "*":
        return raw
    accepted = (
        "each origin is a scheme and host with an optional port, exactly as a browser "
        "sends it: https://shop.example.com or http://localhost:3000 (no path, no "
        "wildcard; * alone allows any origin)"
    )
    try:
        parts = urlsplit(raw.rstrip("/"))
        port = parts.port
    except ValueError:
        raise SettingsError(f"{name} has {raw!r}: {accepted}.") from None
    host = parts.hostname or ""
    if (
        parts.scheme not in _DEFAULT_PORTS
        or parts.path or parts.query or parts.fragment or "@" in parts.netloc
        or not _HOST.fullmatch(host if ":" not in host else f"[{host}]")
    ):
        hint = " (wildcards never match an Origin header)" if "*" in raw else ""
        raise SettingsError(f"{name} has {raw!r}{hint}: {accepted}.")
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        shown = f"{shown}:{port}"
    return f"{parts.scheme}://{shown}"


_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")


def _headers(env: Mapping[str, str]) -> tuple[str, ...]:
    name = "GIGMETRICS_API_HEADERS"
    raw = env.get(name, "").strip() or API_HEADERS_DEFAULT
    headers = tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    bad = [h for h in headers if not _HEADER_NAME.fullmatch(h)]
    if bad or not headers:
        raise SettingsError(
            f"{name}={raw!r}: give comma-separated header names, e.g. {API_HEADERS_DEFAULT} "
            f"(not header names: {bad})."
        )
    return headers


def _metrics(env: Mapping[str, str]) -> dict[str, Any]:
    name = "GIGMETRICS_METRICS"
    raw = env.get(name, "").strip().lower() or "main"
    if raw in ("off", "main"):
        return {"metrics": raw}
    host, _, port = raw.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise SettingsError(
            f"{name}={raw!r} is not off, main or [HOST:]PORT: e.g. 9464 or 0.0.0.0:9464 "
            "(a port is 1-65535)."
        )
    return {"metrics": "port", "metrics_address": (host, int(port))}


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise SettingsError(f"{name}={env[name]!r} is not one of: {', '.join(choices)}.")
    return value


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


def _partition_groups(env: Mapping[str, str]) -> int:
    name = "GIGMETRICS_MONGO_PARTITION_GROUPS"
    groups = _int(env, name, 1, minimum=1)
    if groups > PARTITIONS:
        raise SettingsError(f"{name}={groups} is too large: there are {PARTITIONS} partitions.")
    return groups


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


def _signing_keys(env: Mapping[str, str]) -> SigningKeys | None:
    raw = env.get("GIGMETRICS_SIGNING_KEYS", "").strip()
    return SigningKeys.parse(raw) if raw else None


def _rate_limits(env: Mapping[str, str]) -> TrafficLimits:
    raw = env.get("GIGMETRICS_RATE_LIMITS", "").strip()
    return TrafficLimits.parse(raw) if raw else TrafficLimits()
