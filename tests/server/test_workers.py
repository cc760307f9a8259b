"""`gigmetrics serve --workers N`: processes share the port and one set of metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .conftest import REPO, free_port
from .test_observability import BROWSER_UA, beacon, events_total

# The command refuses several workers on SQLite (one writer process is the design); this test
# lifts that refusal so the process model can be tested without a MongoDB server.
SERVE = """
import sys
import server.serving as serving
from server.cli import main

class NotSQLite: pass

if __name__ == "__main__":
    serving.SQLiteStore = NotSQLite
    sys.exit(main(["serve", "--port", sys.argv[1], "--workers", "2",
                   "--log-level", "warning"]))
"""


@pytest.mark.slow
def test_two_workers_add_up_their_metrics(tmp_path: Path) -> None:
    port = free_port()
    shared = tmp_path / "prom"
    env = {**os.environ, "GIGMETRICS_DATABASE_URL": f"sqlite:///{tmp_path}/w.db",
           "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    script = tmp_path / "serve_two.py"
    script.write_text(SERVE)
    process = subprocess.Popen([sys.executable, str(script), str(port)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/readyz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"content-type": "text/plain", "user-agent": BROWSER_UA}
        for n in range(12):  # a new connection each: the kernel spreads them over workers
            body = json.dumps(beacon(f"wrk-{n}", 2))
            assert httpx.post(f"{url}/collect", content=body, headers=headers,
                              timeout=10).status_code == 200
        for _ in range(4):  # whichever worker answers the scrape, it sums them all
            page = httpx.get(f"{url}/metrics", timeout=10).text
            assert events_total(page)["accepted"] == 24
        pids = {name.rsplit("_", 1)[-1] for name in os.listdir(shared)}
        assert len(pids) >= 2, pids
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert "2 workers" in out.decode() and "Traceback" not in err.decode(), err.decode()
