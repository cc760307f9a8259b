"""Fixtures for tests that run the real server as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ..conftest import REPO, free_port, stop_process

ADMIN_KEY = "test-admin-key"
# A server restarted under load waits on the MongoDB-wire test server (a Python process on
# the same two cores) to open its store; the store itself allows a minute.
START_LIMIT_S = 60.0


@dataclass
class ServerProcess:
    """A `gigmetrics serve` child process on a database (its log goes to `log_path`)."""

    database_url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)  # extra GIGMETRICS_* settings
    process: subprocess.Popen[bytes] | None = None
    # More GIGMETRICS_* variables for this server (e.g. the rate limits of a load test).
    env: dict[str, str] = field(default_factory=dict)
    log_level: str = "warning"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "GIGMETRICS_DATABASE_URL": self.database_url,
            "GIGMETRICS_ADMIN_KEY": ADMIN_KEY,
            **self.env,
        }
        log = self.log_path
        with log.open("ab") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server", "serve", "--port", str(self.port),
                 "--log-level", self.log_level, "--workers", str(self.workers)],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + START_LIMIT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited at start: {log.read_text()}")
            try:
                # /readyz may run a probe write (majority, journaled) on a busy wire server.
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready in {START_LIMIT_S:.0f} s")

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def kill_hard(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process(self.process, timeout=10)

    def graphql(self, query: str, **variables: object) -> dict[str, object]:
        response = httpx.post(
            f"{self.url}/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {ADMIN_KEY}"},
            timeout=10,
        )
        body: dict[str, object] = response.json()
        assert "errors" not in body, body
        data = body["data"]
        assert isinstance(data, dict)
        return data


@pytest.fixture
def server_process(database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A server process on a fresh database of each store kind (not started yet)."""
    server = ServerProcess(database_url, tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()
