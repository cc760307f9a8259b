"""How `gigmetrics serve` runs uvicorn against slow and hostile clients.

uvicorn closes a connection that idles between requests (`timeout_keep_alive`), but it waits
forever for a request's first bytes, its headers and its body, and takes headers of any size.
`DeadlineHttpToolsProtocol` closes a connection whose request is not read whole within
`REQUEST_READ_TIMEOUT_S` of the connection being ready for it, and answers `431` to a request
head over `MAX_HEAD_BYTES`. The collector and `/graphql` also bound their own body reads.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from typing import Any

log = logging.getLogger("gigmetrics.serving")

REQUEST_READ_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 32 * 1024

_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8"
    b"\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_431_MESSAGE = b"the request line and headers are over %d bytes" % MAX_HEAD_BYTES


async def _head_too_large(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 431, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": _431_MESSAGE})


def uvicorn_options() -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`: event loop, HTTP protocol, timeouts."""
    has_uvloop = importlib.util.find_spec("uvloop") is not None
    options: dict[str, Any] = {
        "loop": "uvloop" if has_uvloop else "asyncio",
        "timeout_keep_alive": KEEP_ALIVE_S,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
    }
    if importlib.util.find_spec("httptools") is not None:
        # By import path, so that `--workers N` can hand it to its worker processes.
        options["http"] = f"{__name__}:DeadlineHttpToolsProtocol"
    else:  # h11 bounds the head's size, not its time
        options["http"] = "h11"
    return options


_protocol: type | None = None


def __getattr__(name: str) -> Any:
    # `DeadlineHttpToolsProtocol` is built on first use: uvicorn's httptools module imports
    # httptools, which is optional.
    global _protocol
    if name != "DeadlineHttpToolsProtocol":
        raise AttributeError(name)
    if _protocol is None:
        _protocol = deadline_protocol()
        _protocol.__qualname__ = _protocol.__name__
        _protocol.__module__ = __name__
    return _protocol


def deadline_protocol() -> type:
    """uvicorn's httptools protocol with a read deadline per request and a head-size cap."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _head_bytes = 0
        _head_done = True

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_request()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._head_done and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self.transport.write(_431 % (len(_431_MESSAGE), _431_MESSAGE))
                    self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_done = False
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._head_done = True
            head = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
            if head <= MAX_HEAD_BYTES:
                super().on_headers_complete()
                return
            # Arrived whole in one read: answered by uvicorn's machinery, never by the app.
            app, self.app = self.app, _head_too_large
            try:
                super().on_headers_complete()
            finally:
                self.app = app

        def on_message_complete(self) -> None:
            self._cancel_deadline()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.pipeline and not self.transport.is_closing():
                self._await_request()

        def _await_request(self) -> None:
            self._cancel_deadline()
            self._deadline = self.loop.call_later(REQUEST_READ_TIMEOUT_S, self._too_slow)

        def _cancel_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                log.info("closed a connection whose request was not read within %.0f s",
                         REQUEST_READ_TIMEOUT_S)
                self.transport.close()

    return DeadlineHttpToolsProtocol
