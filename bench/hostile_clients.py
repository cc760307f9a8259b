"""Figures for hostile clients: server memory under huge user agents, disk under a flood of
rejected events, and what a slow or aborted client costs.

    python bench/hostile_clients.py agents [--count 300] [--agent-mib 1]
    python bench/hostile_clients.py agent-cpu [--seconds 15] [--threads 4] [--rate 21]
    python bench/hostile_clients.py rejections [--seconds 20] [--threads 4]
    python bench/hostile_clients.py costly-query
    python bench/hostile_clients.py slow
    python bench/hostile_clients.py sockets [--count 300]
    python bench/hostile_clients.py disk-full --dir /mnt/tiny   # a small filesystem, e.g.
        # mount -t tmpfs -o size=3m tmpfs /mnt/tiny

`--repo DIR` measures another checkout (e.g. the main branch, for a before/after pair): the
server runs as `python -m server serve` with DIR as its working directory. Prints one line of
figures per run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(repo: Path, db: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "GIGMETRICS_DATABASE_URL": f"sqlite:///{db}", "GIGMETRICS_DEMO": "false",
           "GIGMETRICS_ADMIN_KEY": "bench-admin",
           # The production defaults, said out loud: hostile clients meet the real screens.
           "GIGMETRICS_RATE_LIMITS": "ip=1200/minute,pv=600/minute,tiles=1000/30 minutes"}
    process = subprocess.Popen(
        [sys.executable, "-m", "server", "serve", "--port", str(port), "--log-level", "error"],
        cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def beacon(n: int, now: int) -> bytes:
    event = {"id": f"bench-{n:010d}", "type": "view", "gig": "g-1", "pv": f"p{n}", "ts": now}
    return json.dumps({"sent_at": now, "events": [event]}).encode()


def agents(args: argparse.Namespace, port: int, pid: int) -> str:
    before = rss_mib(pid)
    statuses: dict[int | str, int] = {}
    size = int(args.agent_mib * 1024 * 1024)
    for n in range(args.count):
        agent = f"{BROWSER_UA} {n:06d} " + "x" * size
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", "/collect", body=beacon(n, int(time.time() * 1000)),
                         headers={"content-type": "text/plain", "user-agent": agent})
            status: int | str = conn.getresponse().status
        except OSError as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        statuses[status] = statuses.get(status, 0) + 1
    after = rss_mib(pid)
    return (f"agents: {args.count} distinct user agents of {args.agent_mib} MiB: RSS "
            f"{before:.0f} MiB -> {after:.0f} MiB; statuses {statuses}")


def agent_cpu(args: argparse.Namespace, port: int) -> str:
    """Distinct made-up agents ("A" * 500 + a counter: no cache helps) at a steady rate from
    a few connections, and `/healthz`'s latency meanwhile: what the crawler screen costs."""
    stop = time.monotonic() + args.seconds
    sent = [0] * args.threads

    def client(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < stop:
            started = time.monotonic()
            agent = "A" * 500 + f"{worker:02d}{n:06d}"
            body = beacon(worker * 10**7 + n, int(time.time() * 1000))
            conn.request("POST", "/collect", body=body,
                         headers={"content-type": "text/plain", "user-agent": agent})
            conn.getresponse().read()
            n += 1
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))
        sent[worker] = n
        conn.close()

    threads = [threading.Thread(target=client, args=(w,)) for w in range(args.threads)]
    for thread in threads:
        thread.start()
    health: list[float] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.monotonic() < stop:
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        health.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    health.sort()
    p50, p95 = health[len(health) // 2], health[int(len(health) * 0.95)]
    return (f"agent-cpu: {sum(sent)} beacons with distinct 508-character agents from "
            f"{args.threads} connections at {args.rate}/s each in {args.seconds} s: /healthz "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(health)} probes")


def costly_query(port: int) -> str:
    """20 aliases of `topGigs(first: 100)` with 398-day series over 100 gigs with data (the
    probe that took 21 s), then the largest ranking the cost limit lets through (one alias,
    400 days), each timed, with `/healthz`'s worst latency while they run."""
    now = int(time.time() * 1000)
    events = [{"id": f"seed-{n:06d}", "type": "served", "gig": f"g-{n}", "imp": f"i{n}",
               "surface": "search", "ts": now - 1000} for n in range(100)]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/collect", body=json.dumps({"events": events}),
                 headers={"content-type": "text/plain", "user-agent": BROWSER_UA})
    conn.getresponse().read()
    today = time.strftime("%Y-%m-%d", time.gmtime())

    def start(days: int) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(time.time() - (days - 1) * 86_400))

    def ranking(alias: str, days: int) -> str:
        return (f'{alias}: topGigs(by: CLICKS, first: 100, range: {{from: "{start(days)}", '
                f'to: "{today}"}}) {{ edges {{ node {{ gigId daily {{ date servedImpressions '
                "clicks ctr } } } }")

    worst = [0.0]
    done = threading.Event()

    def probe_health() -> None:
        health = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not done.is_set():
            started = time.perf_counter()
            health.request("GET", "/healthz")
            health.getresponse().read()
            worst[0] = max(worst[0], (time.perf_counter() - started) * 1000)
            time.sleep(0.02)

    out = []
    for name, query in [
        ("20 aliases x 100 gigs x 398 days", "{ " + " ".join(
            ranking(f"r{n}", 398) for n in range(20)) + " }"),
        ("1 alias x 100 gigs x 400 days", "{ " + ranking("r", 400) + " }"),
        ("1 alias x 100 gigs x 95 days (at the limit)", "{ " + ranking("r", 95) + " }"),
    ]:
        worst[0] = 0.0
        done.clear()
        watcher = threading.Thread(target=probe_health)
        watcher.start()
        started = time.perf_counter()
        conn.request("POST", "/graphql", body=json.dumps({"query": query}),
                     headers={"content-type": "application/json",
                              "authorization": "Bearer bench-admin"})
        response = conn.getresponse()
        body = response.read()
        took = time.perf_counter() - started
        done.set()
        watcher.join()
        code = (json.loads(body).get("errors") or [{}])[0].get("extensions", {}).get("code")
        out.append(f"{name}: {response.status} {code or 'answered'} in {took * 1000:.0f} ms, "
                   f"{len(body):,} B; /healthz worst {worst[0]:.0f} ms")
    return "costly-query: " + "; ".join(out)


def rejections(args: argparse.Namespace, port: int, pid: int, db: Path) -> str:
    stop = time.monotonic() + args.seconds
    sent = [0] * args.threads
    junk = "x" * 280  # 100 such events stay under the 64 KiB body limit

    def flood(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < stop:
            event = {"id": "bad", "type": "served", "gig": junk, "note": junk}
            body = json.dumps({"events": [event] * 100}).encode()
            try:
                conn.request("POST", "/collect", body=body,
                             headers={"content-type": "text/plain", "user-agent": BROWSER_UA})
                conn.getresponse().read()
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            n += 100
        sent[worker] = n
        conn.close()

    threads = [threading.Thread(target=flood, args=(i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1)
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    disk = sum(f.stat().st_size for f in files if f.exists()) / 1024 / 1024
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT count(*) FROM rejections").fetchone()[0]
    return (f"rejections: {sum(sent):,} rejected events sent in {args.seconds} s: "
            f"database files {disk:.0f} MiB, {rows:,} rows kept")


def slow(args: argparse.Namespace, port: int, pid: int) -> str:
    out = []
    for name, payload in (
        ("headers never finished", b"POST /collect HTTP/1.1\r\nHost: x\r\n"),
        ("body never finished", b"POST /collect HTTP/1.1\r\nHost: x\r\ncontent-type: text/plain"
         b"\r\ncontent-length: 1000\r\n\r\n{\"events\":"),
        ("idle after connecting", b""),
    ):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(payload)
        sock.settimeout(args.wait)
        began = time.monotonic()
        try:
            first = sock.recv(200)
            result = first.split(b"\r\n")[0].decode() or "closed"
        except TimeoutError:
            result = f"still open after {args.wait:.0f} s"
        out.append(f"{name}: {result} ({time.monotonic() - began:.1f} s)")
        sock.close()
    return "slow: " + "; ".join(out)


def disk_full(args: argparse.Namespace, port: int, pid: int, db: Path) -> str:
    filler = db.with_name("filler")
    filler.write_bytes(b"\0" * args.filler_kib * 1024)  # freed later: does the store recover?
    now = int(time.time() * 1000)

    def post(n: int) -> tuple[int, str]:
        events = [{"id": f"full-{n:05d}-{i:03d}", "type": "served", "gig": f"g-{n}-{i}",
                   "imp": f"i{i}", "surface": "search", "context": "c" * 100, "ts": now}
                  for i in range(100)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/collect", body=json.dumps({"events": events}).encode(),
                     headers={"content-type": "text/plain", "user-agent": BROWSER_UA})
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        conn.close()
        return response.status, body

    def readyz() -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/readyz")
        status = conn.getresponse().status
        conn.close()
        return status

    accepted = 0
    for n in range(1000):
        status, body = post(n)
        if status != 200:
            break
        accepted += 1
    else:
        return "disk-full: the disk never filled"
    full_ready = readyz()
    filler.unlink()
    freed_ready = readyz()
    after, _ = post(10_000)
    return (f"disk-full: {accepted} batches stored, then /collect {status} {body[:120]!r}; "
            f"/readyz {full_ready} while full, {freed_ready} after freeing space; "
            f"next /collect {after}")


def sockets(args: argparse.Namespace, port: int, pid: int) -> str:
    """Idle WebSockets without a key from one address, bad keys, and malformed frames."""
    import asyncio

    import websockets

    url = f"ws://127.0.0.1:{port}/graphql"
    protocol = ["graphql-transport-ws"]

    async def close_code(*frames: str) -> int | None:
        async with websockets.connect(url, subprotocols=protocol) as ws:  # type: ignore[list-item]
            for frame in frames:
                await ws.send(frame)
            try:
                await asyncio.wait_for(ws.recv(), 5)
            except websockets.ConnectionClosed:
                pass
            except TimeoutError:
                return None
            return ws.close_code

    async def run() -> str:
        rss_before = rss_mib(pid)
        opened, refused = [], 0
        for _ in range(args.count):
            try:
                opened.append(await websockets.connect(url, subprotocols=protocol))  # type: ignore[list-item]
            except Exception:
                refused += 1
        rss_open, fds = rss_mib(pid), len(os.listdir(f"/proc/{pid}/fd"))
        await asyncio.sleep(6)  # past the connection_init timeout
        still_open = sum(1 for ws in opened if ws.close_code is None)
        codes = {ws.close_code for ws in opened}
        for ws in opened:
            await ws.close()
        bad_key = await close_code(json.dumps(
            {"type": "connection_init", "payload": {"Authorization": "Bearer gm_nope"}}))
        malformed = [await close_code("[1]") for _ in range(20)]
        return (f"sockets: {len(opened)} of {args.count} idle keyless sockets opened, "
                f"{refused} refused; RSS +{rss_open - rss_before:.1f} MiB, {fds} fds; "
                f"after 6 s {still_open} still open (close codes {sorted(map(str, codes))}); "
                f"bad key at connection_init: close {bad_key}; 20 frames [1]: close "
                f"{sorted(set(map(str, malformed)))}")

    return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, default=REPO, help="checkout whose server to run")
    commands = parser.add_subparsers(dest="command", required=True)
    a = commands.add_parser("agents")
    a.add_argument("--count", type=int, default=300)
    a.add_argument("--agent-mib", type=float, default=1.0)
    c = commands.add_parser("agent-cpu")
    c.add_argument("--seconds", type=int, default=15)
    c.add_argument("--threads", type=int, default=4)
    c.add_argument("--rate", type=float, default=21.0)
    commands.add_parser("costly-query")
    r = commands.add_parser("rejections")
    r.add_argument("--seconds", type=int, default=20)
    r.add_argument("--threads", type=int, default=4)
    s = commands.add_parser("slow")
    s.add_argument("--wait", type=float, default=40.0)
    w = commands.add_parser("sockets")
    w.add_argument("--count", type=int, default=300)
    d = commands.add_parser("disk-full")
    d.add_argument("--dir", type=Path, required=True, help="a folder on a small filesystem")
    d.add_argument("--filler-kib", type=int, default=2048)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=getattr(args, "dir", None)) as tmp:
        db = Path(tmp) / "bench.db"
        port = free_port()
        server = start_server(args.repo.resolve(), db, port)
        try:
            if args.command == "agents":
                print(agents(args, port, server.pid))
            elif args.command == "agent-cpu":
                print(agent_cpu(args, port))
            elif args.command == "costly-query":
                print(costly_query(port))
            elif args.command == "rejections":
                print(rejections(args, port, server.pid, db))
            elif args.command == "sockets":
                print(sockets(args, port, server.pid))
            elif args.command == "disk-full":
                print(disk_full(args, port, server.pid, db))
            else:
                print(slow(args, port, server.pid))
        finally:
            server.terminate()
            try:
                _, err = server.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                _, err = server.communicate()
        lines = err.decode(errors="replace").splitlines()
        tracebacks = sum(1 for line in lines if line.startswith("Traceback"))
        print(f"server log: {len(lines)} lines, {tracebacks} tracebacks")


if __name__ == "__main__":
    main()
