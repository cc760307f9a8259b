"""A real MongoDB-wire server for every store-backed suite, and the `database_url` fixture.

By default the tests start SecantusDB (a MongoDB-wire server on WiredTiger, installed by
`scripts/install` into `.venv-secantus`, GPL-2.0 and never imported: it runs as a separate
process) once per session, as a single-node replica set with test commands (fail points)
on. `GIGMETRICS_TEST_MONGODB_URL=mongodb://host:port` points the same suites at a real mongod
instead (README: how to start one with fail points enabled). Each test gets its own database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pymongo
import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

REPO = Path(__file__).resolve().parents[1]
EXTERNAL_URL = os.environ.get("GIGMETRICS_TEST_MONGODB_URL", "").strip()
SECANTUSD = os.environ.get("GIGMETRICS_TEST_SECANTUSD", "").strip() or str(
    REPO / ".venv-secantus" / "bin" / "secantusd-py"
)
STORE_KINDS = ["sqlite", "mongodb"]


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Terminate a child process, killing it if it has not exited within `timeout`."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class WireServer:
    """A MongoDB-wire server the tests may use (and arm fail points on)."""

    url: str  # mongodb://host:port/?options, no database
    process: subprocess.Popen[bytes] | None = None
    home: str | None = None  # SecantusDB's folder: data and server.log
    _admin: MongoClient[dict[str, object]] | None = field(default=None, repr=False)

    def database_url(self, name: str, **options: str) -> str:
        """The server's URL naming database `name`, with extra URI options."""
        scheme, rest = self.url.split("://", 1)
        hosts, _, tail = rest.partition("/")
        query = [q for q in tail.partition("?")[2].split("&") if q]
        query += [f"{k}={v}" for k, v in options.items()]
        return f"{scheme}://{hosts}/{name}" + (f"?{'&'.join(query)}" if query else "")

    @property
    def admin(self) -> MongoClient[dict[str, object]]:
        """One synchronous client for the session (short-lived clients leak monitor sockets)."""
        if self._admin is None:
            self._admin = MongoClient(self.url, serverSelectionTimeoutMS=5_000)
        return self._admin

    def fail_point(self, mode: object, **data: object) -> None:
        """Arm (or with mode "off", disarm) mongod's `failCommand` fail point."""
        self.admin.admin.command({"configureFailPoint": "failCommand", "mode": mode, "data": data})

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()


def _start_secantus() -> WireServer:
    if not os.access(SECANTUSD, os.X_OK):
        pytest.fail(
            f"no MongoDB-wire test server at {SECANTUSD}: run scripts/install (it installs "
            "SecantusDB into .venv-secantus), or set GIGMETRICS_TEST_MONGODB_URL to a mongod."
        )
    port = free_port()
    home = tempfile.mkdtemp(prefix="gm-secantus-")
    with open(os.path.join(home, "server.log"), "wb") as log:
        process = subprocess.Popen(
            [SECANTUSD, "--host", "127.0.0.1", "--port", str(port), "--storage-path",
             os.path.join(home, "data"), "--enable-test-commands", "--log-level", "WARNING"],
            stdout=log, stderr=subprocess.STDOUT, cwd=home,
        )
    server = WireServer(f"mongodb://127.0.0.1:{port}/?directConnection=true", process, home)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log_text = Path(home, "server.log").read_text()
            raise RuntimeError(f"SecantusDB exited at start: {log_text}")
        try:
            with MongoClient(server.url, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
            return server
        except PyMongoError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("SecantusDB did not answer within 60 s")


@pytest.fixture(scope="session")
def wire_server() -> Iterator[WireServer]:
    """The session's MongoDB-wire server: a real mongod if configured, else SecantusDB."""
    if EXTERNAL_URL:
        external = WireServer(EXTERNAL_URL)
        yield external
        external.close()
        return
    server = _start_secantus()
    try:
        yield server
    finally:
        server.close()
        assert server.process is not None
        stop_process(server.process, timeout=20)
        shutil.rmtree(server.home or "", ignore_errors=True)


@pytest.fixture
def own_mongo_database_url() -> Iterator[str]:
    """A URL naming a database on a wire server of this test's own (the configured mongod,
    or a fresh SecantusDB): tests that start server processes on MongoDB and kill them
    should not meet what earlier tests left on the session's server (a transaction a test
    left open on purpose held the session's SecantusDB, and a new store's set-up waited)."""
    name = f"gm_test_{uuid.uuid4().hex[:12]}"
    if EXTERNAL_URL:
        external = WireServer(EXTERNAL_URL)
        yield external.database_url(name)
        with contextlib.suppress(PyMongoError), pymongo.timeout(10):
            external.admin.drop_database(name)
        external.close()
        return
    server = _start_secantus()
    try:
        yield server.database_url(name)
    finally:
        server.close()
        assert server.process is not None
        stop_process(server.process, timeout=20)
        shutil.rmtree(server.home or "", ignore_errors=True)


@pytest.fixture
def mongo_database_url(
    wire_server: WireServer, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A URL naming a fresh database on the wire server, dropped after the test."""
    name = f"gm_test_{uuid.uuid4().hex[:12]}"
    yield wire_server.database_url(name)
    # Bounded: a transaction a test left open on purpose (a stalled or killed writer) holds
    # the database until the server expires it, and the drop would wait for it. The session's
    # server and its files go at the end anyway.
    with contextlib.suppress(PyMongoError), pymongo.timeout(10):
        wire_server.admin.drop_database(name)


@pytest.fixture(params=STORE_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each store kind: a SQLite file, then a MongoDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gigmetrics.db"
    url: str = request.getfixturevalue("mongo_database_url")
    return url
