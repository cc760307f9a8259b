"""Every error gigmetrics raises on purpose, in one small tree.

    GigmetricsError
    ├── SettingsError        a GIGMETRICS_* variable is missing or malformed
    ├── BadBatch             a /collect body or recordEvents call is not of the pinned shape
    ├── PayloadTooLarge      a /collect body over the 64 KiB limit
    ├── QueryError           a GraphQL argument is wrong (bad range, unknown time zone, ...)
    ├── AuthError            no key, an unknown key, or a key without the right
    ├── StoreUnavailable     the store does not answer (or cannot be opened)
    └── CommandError         a `gigmetrics` command cannot do what it was asked

Each message says what is wrong and, where it can, how to fix it.
"""


class GigmetricsError(Exception):
    """Base of every deliberate gigmetrics error."""


class SettingsError(GigmetricsError):
    """A setting is missing or has a value that cannot be used."""


class BadBatch(GigmetricsError):
    """A request body is not of the pinned shape; nothing of it is stored."""


class PayloadTooLarge(GigmetricsError):
    """A request body is over the size limit; nothing of it is stored."""


class QueryError(GigmetricsError):
    """A query argument is wrong."""


class AuthError(GigmetricsError):
    """The request's key may not do what it asks."""


class StoreUnavailable(GigmetricsError):
    """The store did not answer."""


class CommandError(GigmetricsError):
    """A `gigmetrics` command cannot do what it was asked (a port in use, no database...)."""
