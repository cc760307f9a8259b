"""How `gigmetrics serve` starts, and how it runs uvicorn against slow and hostile clients.

`serve` checks everything that can fail before the banner (the port, the metrics port, the
store), then runs uvicorn on the socket it bound.

uvicorn closes a connection that idles between requests (`timeout_keep_alive`), but it waits
forever for a request's first bytes, its headers and its body, and takes headers of any size.
`DeadlineHttpToolsProtocol` (with httptools, the `[fast]` extra) and `DeadlineH11Protocol`
(without it) close a connection whose request is not read whole within
`REQUEST_READ_TIMEOUT_S` of the connection being ready for it, and answer `431` to a request
head over `MAX_HEAD_BYTES`, so every install is bounded alike. The collector and `/graphql`
also bound their own body reads.
"""

from __future__ import annotations

import asyncio
import errno
import importlib.util
import logging
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from . import __version__
from .errors import CommandError, StoreUnavailable
from .settings import Settings
from .stores import SQLiteStore, open_store

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger("gigmetrics.serving")

REQUEST_READ_TIMEOUT_S = 15.0
KEEP_ALIVE_S = 5
MAX_HEAD_BYTES = 32 * 1024


def serve(host: str, port: int, workers: int, log_level: str | None) -> None:
    """Run the server until it is stopped, after checking what can fail before the banner."""
    import uvicorn

    from .observability import prepare_workers, serve_metrics_port
    from .request_log import configure_logging

    if log_level:
        os.environ["GIGMETRICS_LOG_LEVEL"] = log_level  # the workers read it too
    settings = Settings.from_env()
    if workers > 1 and isinstance(open_store(settings.database_url), SQLiteStore):
        raise CommandError(
            f"--workers {workers} needs the MongoDB store. The embedded SQLite store has "
            "one writer per file, so run it as one process (it batches writes already), or set "
            "GIGMETRICS_DATABASE_URL=mongodb://host/dbname."
        )
    configure_logging(settings.log_format, settings.log_level)
    # Everything that can fail is checked before the banner: the port, the metrics port and
    # the store, in that order (the cheap checks first).
    listener = _listen(host, port, "--port")
    stop_metrics: Callable[[], None] = lambda: None  # noqa: E731
    if settings.metrics == "port" and settings.metrics_address is not None:
        metrics_host, metrics_port = settings.metrics_address
        _listen(metrics_host, metrics_port, "GIGMETRICS_METRICS").close()
        stop_metrics = serve_metrics_port(metrics_host, metrics_port, settings.admin_key)
    try:
        asyncio.run(_check_store(settings))
        cleanup = prepare_workers(workers)
        print(_banner(host, port, workers, settings), flush=True)
        config = uvicorn.Config(
            "server.app:app_from_env",
            factory=True,
            workers=workers,
            log_level=settings.log_level,
            log_config=None,  # our handler formats uvicorn's lines too (plain or JSON)
            access_log=False,  # one line per request comes from RequestLog
            timeout_graceful_shutdown=5,
            **uvicorn_options(),  # event loop, HTTP protocol, slow-client timeouts
        )
        try:
            _run(config, listener)
        finally:
            cleanup()
    finally:
        stop_metrics()
        listener.close()


def _run(config: uvicorn.Config, listener: socket.socket) -> None:
    """What `uvicorn.run` does, on a socket `serve` already bound."""
    from uvicorn import Server
    from uvicorn.supervisors.multiprocess import Multiprocess

    server = Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[listener]).run()
        else:
            server.run(sockets=[listener])
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        raise CommandError("the server did not start: see the log lines above.")


def _listen(host: str, port: int, what: str) -> socket.socket:
    """Bind now, so a taken port is reported before anything says the server is up."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CommandError(f"cannot listen on {host!r}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = "it is in use (another gigmetrics?): stop that process or pick another"
        elif exc.errno == errno.EACCES:
            reason = "ports below 1024 need privileges: pick one above 1023"
        else:
            reason = f"{exc.strerror or exc}"
        raise CommandError(f"cannot listen on {host}:{port} ({what}): {reason}.") from None
    sock.set_inheritable(True)
    return sock


async def _check_store(settings: Settings) -> None:
    store = open_store(settings.database_url)
    try:
        await store.open()
    except StoreUnavailable as exc:
        if isinstance(store, SQLiteStore) or exc.__cause__ is None:
            raise
        raise CommandError(mongo_hint(settings.database_url, exc.__cause__)) from None
    await store.close()


def mongo_hint(url: str, error: BaseException) -> str:
    """Why MongoDB could not be opened, the remedy first and the driver's reason cut short:
    PyMongo's message ends in a topology dump nobody needs to read at start-up."""
    reason = str(error)
    for cut in (", Timeout:", " Topology Description:", ", full error:"):
        reason = reason.split(cut, 1)[0]
    if len(reason) > 240:
        reason = reason[:239] + "\N{HORIZONTAL ELLIPSIS}"
    return (
        f"cannot open {describe_store(url)}. Check that it is running and reachable from here, "
        "and that it is a replica set (transactions need one; a single node is enough). To try "
        "one locally, see \"MongoDB\" in the README. The driver said: " + reason
    )


def _banner(host: str, port: int, workers: int, settings: Settings) -> str:
    metrics = {"off": "off", "main": "/metrics"}.get(settings.metrics) or (
        "http://{}:{}/metrics".format(*(settings.metrics_address or ("", 0)))
    )
    processes = f"; {workers} workers" if workers > 1 else ""
    graphiql = "/graphql" if settings.graphiql else "off"
    return (
        f"gigmetrics {__version__} on http://{host}:{port}/  "
        f"(store: {describe_store(settings.database_url)}{processes}; dashboard: /dashboard; "
        f"GraphiQL: {graphiql}; snippet: /sdk.js; metrics: {metrics})\n"
        f"  {_trust_line(settings)}"
    )


def _trust_line(settings: Settings) -> str:
    """What the banner says about signing and the demo pages, which depend on it."""
    if settings.signing_keys is None:
        signing = "signing: off (every valid beacon counts; see \"Signed listings\" in the README)"
    else:
        signing = (f"signing: on (key {settings.signing_keys.keys[0][0]} signs; events from "
                   "unsigned listings are kept as invalid traffic, never counted)")
    if settings.demo:
        demo = "demo pages: on (/)"
    elif settings.signing_keys is not None:
        demo = ("demo pages: off, because signing is on (they would sign tiles for anyone; "
                "GIGMETRICS_DEMO=true serves them anyway)")
    else:
        demo = "demo pages: off (GIGMETRICS_DEMO=false)"
    return f"{signing}; {demo}"


def describe_store(url: str) -> str:
    """The store a URL names, for people: an absolute SQLite path, a password hidden."""
    store = open_store(url)
    if isinstance(store, SQLiteStore):
        return f"SQLite file {os.path.abspath(store.path)}"
    parts = urlsplit(url)
    if parts.password:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username}:***@{host}")
    return f"MongoDB {urlunsplit(parts)}"


# -- uvicorn against slow clients ------------------------------------------------------------


_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8"
    b"\r\nconnection: close\r\ncontent-length: %d\r\n\r\n%s"
)
_431_MESSAGE = b"the request line and headers are over %d bytes" % MAX_HEAD_BYTES


class ReadDeadline:
    """What both deadline protocols share: a timer from the moment a connection is ready for
    a request until the request is read whole; past `REQUEST_READ_TIMEOUT_S` it is closed."""

    _deadline: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

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
    # By import path, so that `--workers N` can hand it to its worker processes.
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = f"{__name__}:DeadlineHttpToolsProtocol"
    else:
        options["http"] = f"{__name__}:DeadlineH11Protocol"
    return options


_protocols: dict[str, type] = {}


def __getattr__(name: str) -> Any:
    # The protocols are built on first use: uvicorn's httptools module imports httptools,
    # which is optional.
    makers = {"DeadlineHttpToolsProtocol": deadline_protocol, "DeadlineH11Protocol": h11_protocol}
    if name not in makers:
        raise AttributeError(name)
    if name not in _protocols:
        protocol = makers[name]()
        protocol.__qualname__ = protocol.__name__
        protocol.__module__ = __name__
        _protocols[name] = protocol
    return _protocols[name]


def deadline_protocol() -> type:
    """uvicorn's httptools protocol with a read deadline per request and a head-size cap."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class DeadlineHttpToolsProtocol(ReadDeadline, HttpToolsProtocol):
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


    return DeadlineHttpToolsProtocol


def h11_protocol() -> type:
    """uvicorn's h11 protocol with the same read deadline per request and head-size cap."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class DeadlineH11Protocol(ReadDeadline, H11Protocol):
        _head_bytes = 0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._await_request()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_deadline()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:  # still reading a request's head
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self.transport.write(_431 % (len(_431_MESSAGE), _431_MESSAGE))
                    self.transport.close()
                    return
            super().data_received(data)
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE):
                self._cancel_deadline()  # the request is read whole

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
                self._head_bytes = 0
                self._await_request()


    return DeadlineH11Protocol
