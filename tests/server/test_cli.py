"""The `gigmetrics` command: keys, the schema export, gig owners and claims, signing."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from server.cli import main
from server.edge.signing import SigningKeys, check
from server.model import Event, EventType, Surface
from server.serving import describe_store
from server.settings import DOCUMENTED, Settings
from server.stores import SQLiteStore, open_store
from server.stores.base import Store

from .conftest import free_port

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("GIGMETRICS_DATABASE_URL", f"sqlite:///{path}")
    asyncio.run(_create(path))
    return path


async def _create(path: Path) -> None:
    store = SQLiteStore(path)
    await store.open()
    await store.close()


def test_keys_create_list_revoke(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "acme dashboard", "--seller", "alice",
                 "--seller", "bob"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["secret"].startswith("gm_") and len(created["secret"]) > 40
    assert created["sellers"] == ["alice", "bob"] and created["write"] is False

    assert main(["keys", "list"]) == 0
    listing = capsys.readouterr().out
    assert created["id"] in listing and "active" in listing and "alice,bob" in listing
    assert created["secret"] not in listing
    header = listing.splitlines()[0].split()
    assert header[:4] == ["ID", "STATE", "ACCESS", "CREATED"] and "USED" in header

    assert main(["keys", "revoke", created["id"]]) == 0
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    assert "revoked" in capsys.readouterr().out


def test_revoking_an_unknown_key_fails_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "revoke", "k_nope"]) == 1
    assert "k_nope" in capsys.readouterr().err


def test_schema_export_matches_published_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    assert main(["schema", "-o", str(out)]) == 0
    assert out.read_text() == (REPO / "schema.graphql").read_text()


def test_bad_setting_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_DATABASE_URL", "postgres://nope")
    assert main(["keys", "list"]) == 2
    assert "GIGMETRICS_DATABASE_URL" in capsys.readouterr().err


KEYS = "k1:0123456789abcdef0123"


def with_store(action: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = open_store(Settings.from_env().database_url)
        await store.open()
        try:
            return await action(store)
        finally:
            await store.close()

    return asyncio.run(run())


def test_gigs_set_owner_moves_a_gig_and_claims_lists_the_conflicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = int(time.time() * 1000)
    beacon = Event("e-00000001", EventType.VIEW, "g-1", now - 1000, "bob", pv="p1")
    with_store(lambda store: store.ingest([beacon]))
    assert main(["gigs", "set-owner", "g-1", "alice"]) == 0
    assert capsys.readouterr().out == "g-1 now belongs to alice\n"
    assert with_store(lambda store: store.seller_of(["g-1"])) == {"g-1": "alice"}
    # bob's next beacon is a claim, not a move; the admin sees it
    claim = beacon._replace(id="e-00000002", pv="p2", ts=now)
    with_store(lambda store: store.ingest([claim]))
    assert main(["gigs", "claims"]) == 0
    assert capsys.readouterr().out == f"g-1\tbob\t1\t{now}\t{now}\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["gigs", "set-owner", "g 1", "alice"],
        ["gigs", "set-owner", "g-1", "al/ice"],
        ["sign", "page", "g-1", "--seller", "x" * 65],
        ["sign", "listing", "--surface", "sidebar", "g-1"],
        ["sign", "listing", "--surface", "search", "--first-position", "0", "g-1"],
        ["sign", "listing", "--surface", "search", "--context", "x" * 129, "g-1"],
        ["sign", "listing", "--surface", "search", "g-1=bad seller"],
    ],
)
def test_bad_arguments_are_refused_before_anything_happens(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_SIGNING_KEYS", KEYS)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error: argument" in capsys.readouterr().err


def test_sign_needs_signing_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sign", "page", "g-1"]) == 2
    assert "GIGMETRICS_SIGNING_KEYS is not set" in capsys.readouterr().err


def test_sign_listing_prints_one_token_per_tile_that_the_collector_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_SIGNING_KEYS", KEYS)
    assert main(["sign", "listing", "--surface", "search", "--context", "logo design",
                 "--first-position", "49", "g-1=alice", "g-2"]) == 0
    tokens = capsys.readouterr().out.split()
    assert len(tokens) == 2
    keys = SigningKeys.parse(KEYS)
    now = int(time.time() * 1000)
    for (gig, seller, position), token in zip(
        [("g-1", "alice", 49), ("g-2", None, 50)], tokens, strict=True
    ):
        event = Event("e-00000001", EventType.SERVED, gig, now, seller, "i-1", "p-1",
                      Surface.SEARCH, "logo design", position, sig=token)
        assert check(keys, event, received=event.ts).invalid is None
        assert check(keys, event._replace(position=1), received=event.ts).invalid == "bad_signature"


def test_sign_page_prints_the_token_of_a_gig_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_SIGNING_KEYS", KEYS)
    assert main(["sign", "page", "g-1", "--seller", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    keys = SigningKeys.parse(KEYS)
    view = Event("e-00000001", EventType.VIEW, "g-1", int(time.time() * 1000), "alice",
                 pv="p-1", sig=token)
    assert check(keys, view, received=view.ts).invalid is None
    assert check(keys, view._replace(seller="bob"), received=view.ts).invalid == "bad_signature"


def test_serve_refuses_bad_rate_limits_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_RATE_LIMITS", "ip=lots")
    assert main(["serve", "--port", "1"]) == 2
    assert "GIGMETRICS_RATE_LIMITS has ip='lots'" in capsys.readouterr().err


def serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`gigmetrics serve` in a child process, for the checks it makes before starting."""
    return subprocess.run(
        [sys.executable, "-m", "server", "serve", *args],
        cwd=REPO, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60,
    )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == "gigmetrics 0.1.0"


def test_help_describes_options_defaults_and_settings(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    text = capsys.readouterr().out
    assert "TCP port, 1-65535 (default: 8000)" in " ".join(text.split())
    for name, _, _ in DOCUMENTED:
        assert name in text, name


@pytest.mark.parametrize("port", ["80000", "0", "-1", "http"])
def test_impossible_ports_are_refused(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--port", port])
    assert done.value.code == 2 and "1-65535" in capsys.readouterr().err


def test_a_port_in_use_is_reported_before_any_banner(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve("--port", str(port),
                     env={"GIGMETRICS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert done.returncode == 2 and done.stdout == ""
    assert f"127.0.0.1:{port}" in done.stderr and "in use" in done.stderr
    assert not (tmp_path / "x.db").exists()  # the store was not even opened


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///no/such/dir/x.db", "/no/such/dir does not exist"),
        ("sqlite:////proc/x.db", "cannot open the SQLite database /proc/x.db"),
        ("sqlite:///.", "it is a folder"),
    ],
)
def test_a_store_that_cannot_open_is_reported_before_any_banner(url: str, says: str) -> None:
    done = serve("--port", str(free_port()), env={"GIGMETRICS_DATABASE_URL": url})
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (REPO / "no").exists()


def test_several_workers_need_mongodb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--workers", "2"]) == 2
    assert "needs the MongoDB store" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--name", "", "--seller", "alice"], ["--name", "  ", "--seller", "alice"],
     ["--name", "acme", "--seller", ""], ["--name", "acme", "--seller", "has space"],
     ["--name", "acme", "--seller", "a", "--expires", "yesterday"],
     ["--name", "acme", "--seller", "a", "--expires", "2001-01-01"]],
)
def test_keys_create_refuses_empty_or_impossible_values(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["keys", "create", *args])
    assert done.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_key_commands_say_which_store_and_never_start_an_empty_one_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "list"]) == 0
    assert f"store: SQLite file {tmp_path / 'cli.db'}" in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("GIGMETRICS_DATABASE_URL")
    assert main(["keys", "create", "--name", "acme", "--seller", "alice"]) == 2
    err = capsys.readouterr().err
    assert f"no database at {elsewhere / 'gigmetrics.db'}" in err and "--new-database" in err
    assert list(elsewhere.iterdir()) == []
    assert main(["keys", "create", "--name", "acme", "--seller", "alice",
                 "--new-database"]) == 0
    assert (elsewhere / "gigmetrics.db").exists()


def test_keys_expire_and_show_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--name", "temp", "--seller", "s", "--expires", "30d"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["expires"] != "never"
    assert main(["keys", "list"]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert created["expires"] in row and "never" in row  # expires, never used yet


def test_store_descriptions_hide_passwords() -> None:
    shown = describe_store("mongodb://app:s3cret@db1:27017,db2/gm?replicaSet=rs0")
    assert "s3cret" not in shown and "app:***@db1:27017,db2/gm" in shown


def test_worker_processes_can_import_python_m_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # `serve --workers N` spawns processes that import the main module as __mp_main__:
    # that import must not run the command again (run as __main__, it does).
    import runpy

    import server.cli

    runs: list[tuple[str, ...]] = []

    def command(*args: str) -> int:
        runs.append(args)
        return 0

    monkeypatch.setattr(server.cli, "main", command)
    runpy.run_module("server.__main__", run_name="__mp_main__")
    assert runs == []
    with pytest.raises(SystemExit) as exited:
        runpy.run_module("server.__main__", run_name="__main__")
    assert exited.value.code == 0
    assert runs == [()]


def test_delete_asks_for_yes_then_deletes_a_gig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import time

    from server.model import Event, EventType, Surface
    from server.stores import SQLiteStore

    async def fill() -> None:
        store = SQLiteStore(tmp_path / "cli.db")
        await store.open()
        now = int(time.time() * 1000)
        await store.ingest([
            Event(f"ev-{n}", EventType.SERVED, gig, now, seller="s-1", imp=f"i-{n}",
                  surface=Surface.SEARCH)
            for n, gig in enumerate(["g-1", "g-1", "g-2"])
        ])
        await store.close()

    (tmp_path / "cli.db").unlink()
    assert main(["delete", "--gig", "g-1"]) == 2  # no database there: none is made
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "cli.db").exists()
    asyncio.run(fill())

    assert main(["delete", "--gig", "g-1"]) == 1
    asked = capsys.readouterr()
    assert f"store: SQLite file {tmp_path}/cli.db" in asked.err and "--yes" in asked.err
    assert main(["delete", "--gig", "g-1", "--yes"]) == 0
    deleted = json.loads(capsys.readouterr().out)
    assert (deleted["gigs"], deleted["events"], deleted["impressions"]) == (1, 2, 2)

    assert main(["delete", "--seller", "s-1"]) == 1
    assert "1 gigs: g-2" in capsys.readouterr().err
    assert main(["delete", "--seller", "s-1", "--yes"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 1


def _help(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        main([*args, "--help"])
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    "command",
    [["serve"], ["demo-traffic"], ["schema"], ["keys", "create"], ["keys", "list"],
     ["keys", "revoke"], ["gigs", "set-owner"], ["gigs", "claims"], ["sign", "listing"],
     ["delete"]],
)
def test_help_names_a_default_once_and_only_when_there_is_one(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = _help(command, capsys)
    assert "(default: None)" not in text and "(default: False)" not in text, text
    for option in text.split(" --")[1:]:
        assert option.count("(default:") <= 1, option


def test_keys_create_help_says_never_once(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help(["keys", "create"], capsys)
    assert "number of days like 90d (default: never) --new-database" in text
    assert "--write may also call recordEvents --expires" in text


def test_demo_traffic_help_says_how_many_days_it_fills(capsys: pytest.CaptureFixture[str]) -> None:
    from server.demo.traffic import DAYS

    assert f"with {DAYS} days of demo traffic" in _help([], capsys)
    assert f"with {DAYS} days of generated demo traffic" in _help(["demo-traffic"], capsys)
    assert "fills 60 days of demo traffic" in (REPO / "scripts" / "serve").read_text()
    assert DAYS == 60


def test_the_banner_says_whether_signing_is_on_and_why_the_demo_is_off() -> None:
    from server.serving import _banner

    plain = _banner("127.0.0.1", 8000, 1, Settings.from_env({}))
    assert "signing: off" in plain and "demo pages: on" in plain
    keys = "k1:" + "s" * 32
    signed = _banner("127.0.0.1", 8000, 1,
                     Settings.from_env({"GIGMETRICS_SIGNING_KEYS": keys}))
    assert "signing: on (key k1 signs" in signed
    assert "demo pages: off, because signing is on" in signed
    both = _banner("127.0.0.1", 8000, 1, Settings.from_env(
        {"GIGMETRICS_SIGNING_KEYS": keys, "GIGMETRICS_DEMO": "true"}))
    assert "signing: on" in both and "demo pages: on" in both
    off = _banner("127.0.0.1", 8000, 1, Settings.from_env({"GIGMETRICS_DEMO": "false"}))
    assert "demo pages: off (GIGMETRICS_DEMO=false)" in off


def test_an_unreachable_mongodb_says_what_to_do_first_without_a_topology_dump() -> None:
    url = f"mongodb://127.0.0.1:{free_port()}/x?timeoutMS=500"
    done = serve("--port", str(free_port()), env={"GIGMETRICS_DATABASE_URL": url})
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.startswith("gigmetrics: cannot open MongoDB"), done.stderr
    assert done.stderr.index("replica set") < done.stderr.index("The driver said")
    assert "Topology" not in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr) < 700, done.stderr
