"""What several benchmarks share: a free port, a throwaway SecantusDB, and loading a store fast.

Not a benchmark itself. SecantusDB (GPL-2.0) runs from its own venv, `.venv-secantus`
(`scripts/install`), as a server process; it is never imported.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import httpx

from server.model import Event
from server.stores import Store

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_secantus(
    home: str, database: str = "bench", options: str = ""
) -> tuple[subprocess.Popen[bytes], str]:
    """A SecantusDB storing in `home`, ready; its process and the URL of `database` on it
    (`options`: more URL options, e.g. `&timeoutMS=600000`)."""
    binary = REPO / ".venv-secantus" / "bin" / "secantusd-py"
    if not binary.exists():
        raise SystemExit("no SecantusDB: run scripts/install, or pass --mongodb-url")
    port = free_port()
    log = open(os.path.join(home, "secantus.log"), "wb")  # noqa: SIM115 (lives with the server)
    process = subprocess.Popen(
        [str(binary), "--host", "127.0.0.1", "--port", str(port), "--storage-path",
         os.path.join(home, "secantus"), "--log-level", "WARNING"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"mongodb://127.0.0.1:{port}/{database}?directConnection=true{options}"
    from pymongo import MongoClient

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with MongoClient(url, serverSelectionTimeoutMS=500) as client:
                client.admin.command("ping")
            return process, url
        except Exception:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("SecantusDB did not start")


async def ingest_all(store: Store, sources: Iterable[Iterable[Event]], batch: int) -> int:
    """Every event of `sources` into an open store, `batch` events a call and 8 calls at a
    time (so the writer's group commit sees load); returns how many were sent."""
    sent = 0
    pending: list[asyncio.Task[object]] = []
    chunk: list[Event] = []
    for source in sources:
        for event in source:
            chunk.append(event)
            if len(chunk) == batch:
                pending.append(asyncio.create_task(store.ingest(chunk)))
                sent += len(chunk)
                chunk = []
                if len(pending) >= 8:
                    await asyncio.gather(*pending)
                    pending = []
    if chunk:
        pending.append(asyncio.create_task(store.ingest(chunk)))
        sent += len(chunk)
    await asyncio.gather(*pending)
    return sent


@contextlib.contextmanager
def serving(database_url: str, admin_key: str) -> Iterator[tuple[httpx.Client, str]]:
    """`gigmetrics serve` on a free port over `database_url`, ready: a client that sends the
    admin key, and the URL of /graphql. The server stops on leaving."""
    port = free_port()
    env = {**os.environ, "GIGMETRICS_DATABASE_URL": database_url,
           "GIGMETRICS_ADMIN_KEY": admin_key, "GIGMETRICS_DEMO": "false"}
    process = subprocess.Popen([sys.executable, "-m", "server", "serve", "--port", str(port),
                                "--log-level", "warning"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(headers={"authorization": f"Bearer {admin_key}"}, timeout=120) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if client.get(f"{base}/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise SystemExit(f"the server on {database_url} did not become ready")
                time.sleep(0.1)
            yield client, f"{base}/graphql"
    finally:
        process.terminate()
        process.wait(timeout=30)
