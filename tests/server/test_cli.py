"""The `gigmetrics` command: keys, the schema export, gig owners and claims, signing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from server.cli import main
from server.events import Event, EventType, Surface
from server.settings import Settings
from server.signing import SigningKeys, check
from server.stores import open_store
from server.stores.base import Store

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIGMETRICS_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")


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
        assert check(keys, event).invalid is None
        assert check(keys, event._replace(position=1)).invalid == "bad_signature"


def test_sign_page_prints_the_token_of_a_gig_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_SIGNING_KEYS", KEYS)
    assert main(["sign", "page", "g-1", "--seller", "alice"]) == 0
    token = capsys.readouterr().out.strip()
    keys = SigningKeys.parse(KEYS)
    view = Event("e-00000001", EventType.VIEW, "g-1", int(time.time() * 1000), "alice",
                 pv="p-1", sig=token)
    assert check(keys, view).invalid is None
    assert check(keys, view._replace(seller="bob")).invalid == "bad_signature"


def test_serve_refuses_bad_rate_limits_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GIGMETRICS_RATE_LIMITS", "ip=lots")
    assert main(["serve", "--port", "1"]) == 2
    assert "GIGMETRICS_RATE_LIMITS has ip='lots'" in capsys.readouterr().err
