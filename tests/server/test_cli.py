"""The `gigmetrics` command: keys create / list / revoke, and the schema export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.cli import main

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


def test_delete_asks_for_yes_then_deletes_a_gig(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import time

    from server.events import Event, EventType, Surface
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

    assert main(["delete", "--gig", "g-1"]) == 2  # no database there yet: nothing made
    assert "no database" in capsys.readouterr().err
    assert not (tmp_path / "cli.db").exists()
    asyncio.run(fill())

    assert main(["delete", "--gig", "g-1"]) == 1
    asked = capsys.readouterr()
    assert f"store: sqlite:///{tmp_path}/cli.db" in asked.err and "--yes" in asked.err
    assert main(["delete", "--gig", "g-1", "--yes"]) == 0
    deleted = json.loads(capsys.readouterr().out)
    assert (deleted["gigs"], deleted["events"], deleted["impressions"]) == (1, 2, 2)

    assert main(["delete", "--seller", "s-1"]) == 1
    assert "1 gigs: g-2" in capsys.readouterr().err
    assert main(["delete", "--seller", "s-1", "--yes"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 1


def test_shown_store_url_hides_the_password() -> None:
    from server.cli import shown_url

    assert shown_url("mongodb://gm:s3cret@db.example.com/gm") == "mongodb://gm:***@db.example.com/gm"
    assert shown_url("mongodb://db/gm") == "mongodb://db/gm"
