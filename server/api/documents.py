"""Which GraphQL documents run: automatic persisted queries, and trusted documents.

Automatic persisted queries are Apollo's protocol: a client sends
`extensions.persistedQuery = {version: 1, sha256Hash}` without the query; a hash this
process has not seen answers `PERSISTED_QUERY_NOT_FOUND`, and the client sends it again with
the query, which registers it (once its hash is checked). The cache is per process and
bounded (least recently used out first): with `--workers N` each worker learns on its own,
so a client may be asked for the query once per worker.

Trusted documents (GIGMETRICS_TRUSTED_DOCUMENTS): a file of the only documents this server
runs, by hash; anything else is refused with `PERSISTED_QUERY_NOT_IN_LIST`. Nothing is
learnt from requests then.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import orjson

from ..errors import SettingsError

MAX_DOCUMENTS = 1000
MAX_DOCUMENT_CHARS = 8_000_000  # all cached documents together
_SHA256 = re.compile(r"[0-9a-f]{64}")


class DocumentError(Exception):
    """A request whose document cannot be run; `extensions` carries the code clients act on."""

    extensions: ClassVar[dict[str, str]] = {"code": "BAD_REQUEST"}


class PersistedQueryNotFound(DocumentError):
    """A hash without its query that this process does not know: send the query too."""

    extensions: ClassVar[dict[str, str]] = {"code": "PERSISTED_QUERY_NOT_FOUND"}


class NotTrusted(DocumentError):
    """A document that is not in the trusted documents file."""

    extensions: ClassVar[dict[str, str]] = {"code": "PERSISTED_QUERY_NOT_IN_LIST"}


def sha256_hex(query: str) -> str:
    """The hash Apollo's clients send for a document."""
    return hashlib.sha256(query.encode()).hexdigest()


class Documents:
    """The documents a process runs: learnt ones (a bounded LRU), or a trusted list only."""

    def __init__(
        self,
        trusted: Mapping[str, str] | None = None,
        *,
        max_documents: int = MAX_DOCUMENTS,
        max_chars: int = MAX_DOCUMENT_CHARS,
    ) -> None:
        self.trusted = dict(trusted) if trusted is not None else None
        self.max_documents = max_documents
        self.max_chars = max_chars
        self._learnt: OrderedDict[str, str] = OrderedDict()
        self._chars = 0

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The document to run for a request's `query` and `extensions`; raises
        `DocumentError` (with the code clients act on) when there is none it may run."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is not None and self.trusted is not None:
                self._require_trusted(sha256_hex(query))
            return query
        digest = _hash_of(persisted)
        if query is None:
            known = self._known(digest)
            if known is None:
                if self.trusted is not None:
                    self._require_trusted(digest)
                raise PersistedQueryNotFound(
                    "PersistedQueryNotFound: this server does not know the document with this "
                    "sha256Hash; send it again with the query to register it"
                )
            return known
        if sha256_hex(query) != digest:
            raise DocumentError(
                "provided sha does not match query: sha256Hash must be the SHA-256 of the "
                "query's UTF-8 bytes, in lowercase hex"
            )
        if self.trusted is not None:
            self._require_trusted(digest)
        else:
            self._learn(digest, query)
        return query

    def _known(self, digest: str) -> str | None:
        if self.trusted is not None:
            return self.trusted.get(digest)
        query = self._learnt.get(digest)
        if query is not None:
            self._learnt.move_to_end(digest)
        return query

    def _learn(self, digest: str, query: str) -> None:
        if digest in self._learnt:
            self._learnt.move_to_end(digest)
            return
        self._learnt[digest] = query
        self._chars += len(query)
        while len(self._learnt) > self.max_documents or self._chars > self.max_chars:
            _, dropped = self._learnt.popitem(last=False)
            self._chars -= len(dropped)

    def _require_trusted(self, digest: str) -> None:
        assert self.trusted is not None
        if digest not in self.trusted:
            raise NotTrusted(
                "this server runs only trusted documents (GIGMETRICS_TRUSTED_DOCUMENTS) and "
                "this one is not among them: add it to the trusted documents file and restart"
            )


def _hash_of(persisted: object) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise DocumentError(
            "unsupported persisted query: extensions.persistedQuery must be "
            '{"version": 1, "sha256Hash": "<64 hex digits>"}'
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise DocumentError(
            "persistedQuery.sha256Hash must be the SHA-256 of the query as 64 hex digits"
        )
    return digest.lower()


def load_trusted(path: str) -> dict[str, str]:
    """A trusted documents file: `{"<sha256>": "<document>", ...}` or Apollo's persisted
    query manifest (`{"format": "apollo-persisted-query-manifest", "operations": [...]}`).
    Each hash is checked against its document; a bad file is a `SettingsError`."""
    name = "GIGMETRICS_TRUSTED_DOCUMENTS"
    try:
        data = orjson.loads(Path(path).read_bytes())
    except OSError as exc:
        raise SettingsError(f"{name}={path!r} cannot be read: {exc.strerror}.") from None
    except orjson.JSONDecodeError as exc:
        raise SettingsError(f"{name}={path!r} is not JSON: {exc}.") from None
    pairs: list[tuple[object, object]]
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        pairs = [
            (op.get("id"), op.get("body")) if isinstance(op, dict) else (None, None)
            for op in data["operations"]
        ]
    elif isinstance(data, dict):
        pairs = list(data.items())
    else:
        raise SettingsError(
            f'{name}={path!r}: the file must be a JSON object {{"<sha256>": "<document>"}} '
            "or an Apollo persisted query manifest."
        )
    trusted: dict[str, str] = {}
    for digest, body in pairs:
        if not isinstance(digest, str) or not isinstance(body, str):
            raise SettingsError(f"{name}={path!r}: each entry needs a hash and a document text.")
        if sha256_hex(body) != digest.lower():
            raise SettingsError(
                f"{name}={path!r}: {digest[:16]}... is not the SHA-256 of its document: "
                "regenerate the file from your client's operations."
            )
        trusted[digest.lower()] = body
    return trusted
