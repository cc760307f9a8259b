"""Every error gigmetrics raises on purpose, in one small tree.

    GigmetricsError
    ├── SettingsError        a GIGMETRICS_* variable is missing or malformed
    ├── BadBatch             a /collect body or recordEvents call is not of the pinned shape
    ├── QueryError           a GraphQL argument is wrong (bad range, unknown time zone, ...)
    ├── AuthError            no key, an unknown key, or a key without the right
    ├── TooManySubscriptions a cap on live subscriptions (per key, per process) is reached
    ├── StoreUnavailable     the store does not answer (or cannot be opened)
    └── CommandError         a `gigmetrics` command cannot do what it was asked

Each message says what is wrong and, where it can, how to fix it.
"""

from typing import ClassVar

RETRY_LATER = "retry later"


class GigmetricsError(Exception):
    """Base of every deliberate gigmetrics error."""


class SettingsError(GigmetricsError):
    """A setting is missing or has a value that cannot be used."""


class BadBatch(GigmetricsError):
    """A request body is not of the pinned shape; nothing of it is stored."""


class QueryError(GigmetricsError):
    """A query argument is wrong."""


class AuthError(GigmetricsError):
    """The request's key may not do what it asks."""


class TooManySubscriptions(GigmetricsError):
    """A cap on live subscriptions was reached."""

    extensions: ClassVar[dict[str, str]] = {"code": "TOO_MANY_SUBSCRIPTIONS"}


class StoreUnavailable(GigmetricsError):
    """The store did not answer; the same request may work later."""

    def __str__(self) -> str:
        # Every answer it becomes (a 503, a GraphQL error) tells the client what to do.
        return f"{super().__str__()}: {RETRY_LATER}"


class CommandError(GigmetricsError):
    """A `gigmetrics` command cannot do what it was asked (a port in use, no database...)."""
