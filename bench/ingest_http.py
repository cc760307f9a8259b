"""Benchmark: end-to-end ingest through HTTP on the embedded store vs a parse-only floor.

    python bench/ingest_http.py [--seconds 10] [--connections 32] [--store sqlite|mongo]
                                [--log-level info]

`--store mongo` stores into a MongoDB-wire server instead: `--mongodb-url URL`, or else a
SecantusDB started from `.venv-secantus` (scripts/install). That figure describes the
stand-in server (a Python process on the same two cores), not mongod: it is printed, with no
target.

Needs `wrk` (Debian package). All servers run the same uvicorn setup (uvloop + httptools when
installed, one worker) on 127.0.0.1; the load is the same wrk script (batches of 20 events with
unique ids). Prints events/s, p50/p99 latency, and the ratio of /collect to the parse-only
floor; a third server that parses and validates but stores nothing shows where the rest goes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.support import free_port, start_secantus  # noqa: E402

EVENTS_PER_REQUEST = 20


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.post(f"http://127.0.0.1:{port}/collect", content=b'{"events": []}', timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server {command} did not start")


def run_wrk(port: int, seconds: int, connections: int) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(HERE / "collect_load.lua"), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "req_s": rps,
        "events_s": rps * EVENTS_PER_REQUEST,
        "p50_ms": _latency(out, "50%"),
        "p99_ms": _latency(out, "99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
    }


def _latency(out: str, label: str) -> float:
    match = re.search(rf"^\s+{re.escape(label)}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    assert match, out
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(name: str, command: list[str], env: dict[str, str], port: int,
            seconds: int, connections: int) -> dict[str, float]:
    process = start(command, env, port)
    try:
        run_wrk(port, 2, connections)  # warm-up
        before = cpu_seconds(process.pid)
        result = run_wrk(port, seconds, connections)
        # CPU per request: steadier than events/s when other work shares the cores.
        served = result["req_s"] * seconds
        result["cpu_us"] = 1e6 * (cpu_seconds(process.pid) - before) / served if served else 0.0
        return result
    finally:
        process.terminate()
        process.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--store", choices=("sqlite", "mongo"), default="sqlite")
    parser.add_argument("--mongodb-url", default="")
    parser.add_argument("--log-level", default="warning",
                        help="of the /collect server: info writes one line per request")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    uvicorn_flags = ["--loop", "uvloop", "--http", "httptools", "--no-access-log",
                     "--log-level", "warning"]
    with tempfile.TemporaryDirectory() as tmp:
        wire = None
        url = f"sqlite:///{tmp}/bench.db"
        if args.store == "mongo":
            url, wire = args.mongodb_url, None
            if not url:
                wire, url = start_secantus(tmp)
        # wrk sends everything from one address: the over-rate screens would mark most of it
        # invalid (still stored, so the cost is the same, but the figures would mislead).
        env = {**os.environ, "GIGMETRICS_DATABASE_URL": url, "GIGMETRICS_RATE_LIMITS": "off",
               "GIGMETRICS_DEMO": "false", "PYTHONPATH": str(REPO)}
        floor_port, validate_port, collect_port = free_port(), free_port(), free_port()
        floor = measure("parse-only", [sys.executable, "-m", "uvicorn", "bench.parse_only_app:app",
                                       "--port", str(floor_port), *uvicorn_flags],
                        env, floor_port, args.seconds, args.connections)
        validated = measure("validate", [sys.executable, "-m", "uvicorn",
                                         "bench.parse_only_app:validating_app",
                                         "--port", str(validate_port), *uvicorn_flags],
                            env, validate_port, args.seconds, args.connections)
        ingest = measure("collect", [sys.executable, "-m", "server", "serve", "--port",
                                     str(collect_port), "--log-level", args.log_level],
                         env, collect_port, args.seconds, args.connections)
        relaxed = None
        if args.store == "sqlite":  # the same, committed without an fsync per group
            relaxed_port = free_port()
            relaxed_env = {**env, "GIGMETRICS_DATABASE_URL": f"sqlite:///{tmp}/normal.db",
                           "GIGMETRICS_SQLITE_SYNCHRONOUS": "normal"}
            relaxed = measure("collect-normal", [sys.executable, "-m", "server", "serve",
                                                 "--port", str(relaxed_port), "--log-level",
                                                 args.log_level],
                              relaxed_env, relaxed_port, args.seconds, args.connections)
        db_mb = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file()) / 1e6
        if wire is not None:
            wire.terminate()
            wire.wait(timeout=30)
    store = ("SQLite, synchronous=full" if args.store == "sqlite"
             else "MongoDB-wire (SecantusDB)")
    print(f"ingest through HTTP, {args.seconds}s, {args.connections} connections, "
          f"{EVENTS_PER_REQUEST} events/request, 1 worker, 2-core machine")
    print(f"{'route':<38}{'events/s':>12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'CPU µs/req':>12}")
    rows = [("parse-only floor", floor), ("parse + validate (no store)", validated),
            (f"/collect -> {store}", ingest)]
    if relaxed is not None:
        rows.append(("/collect -> SQLite, synchronous=normal", relaxed))
    for label, r in rows:
        print(f"{label:<38}{r['events_s']:>12,.0f}{r['req_s']:>10,.0f}{r['p50_ms']:>9.2f}"
              f"{r['p99_ms']:>9.2f}{r['non_2xx']:>9.0f}{r['cpu_us']:>12,.0f}")
    target = ("(target >= 0.35, stretch 0.5)" if args.store == "sqlite"
              else "(a stand-in server: no target)")
    print(f"ratio /collect : floor = {ingest['events_s'] / floor['events_s']:.2f} "
          f"{target}; database after run: {db_mb:.0f} MB; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
