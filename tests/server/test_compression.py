"""SPEC §7: answers over 1 KB on /graphql, /sdk.js and /metrics are compressed with what the
client accepts; /collect never is."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from pathlib import Path

import brotli
import pytest
import zstandard
from starlette.testclient import TestClient

from server.app import create_app
from server.settings import Settings

ADMIN = "compression-admin"
INTROSPECTION = {"query": "{ __schema { types { name description fields { name } } } }"}
DECODE = {
    "gzip": gzip.decompress,
    "br": brotli.decompress,
    "zstd": lambda body: zstandard.ZstdDecompressor().decompressobj().decompress(body),
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/c.db", admin_key=ADMIN, demo=False)
    with TestClient(create_app(settings), client=("127.0.0.1", 5000)) as client:
        yield client


def raw(client: TestClient, method: str, path: str, encoding: str, **kwargs: object) -> tuple[
        dict[str, str], bytes]:
    """The answer's headers and its bytes as sent (not decoded by the test client)."""
    with client.stream(method, path, headers={"accept-encoding": encoding,  # type: ignore[arg-type]
                                               "authorization": f"Bearer {ADMIN}"},
                       **kwargs) as response:
        body = b"".join(response.iter_raw())
        return dict(response.headers), body


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_a_large_graphql_answer_is_compressed_as_accepted(
    client: TestClient, encoding: str
) -> None:
    plain = client.post("/graphql", json=INTROSPECTION, headers={
        "accept-encoding": "identity", "authorization": f"Bearer {ADMIN}"}).content
    assert len(plain) > 1024
    headers, body = raw(client, "POST", "/graphql", encoding, json=INTROSPECTION)
    assert headers["content-encoding"] == encoding
    assert "accept-encoding" in headers["vary"].lower()
    assert len(body) < len(plain) / 2
    assert json.loads(DECODE[encoding](body)) == json.loads(plain)


def test_zstd_is_preferred_then_brotli_then_gzip(client: TestClient) -> None:
    headers, _ = raw(client, "POST", "/graphql", "gzip, br, zstd", json=INTROSPECTION)
    assert headers["content-encoding"] == "zstd"
    headers, _ = raw(client, "POST", "/graphql", "gzip, br", json=INTROSPECTION)
    assert headers["content-encoding"] == "br"


def test_graphql_response_json_answers_are_compressed_too(client: TestClient) -> None:
    with client.stream("POST", "/graphql", json=INTROSPECTION, headers={
            "accept-encoding": "gzip", "authorization": f"Bearer {ADMIN}",
            "accept": "application/graphql-response+json"}) as response:
        assert response.headers["content-type"] == "application/graphql-response+json"
        assert response.headers["content-encoding"] == "gzip"


def test_a_small_answer_is_sent_as_is(client: TestClient) -> None:
    small = {"query": "{ viewer { isAdmin } }"}
    headers, body = raw(client, "POST", "/graphql", "gzip", json=small)
    assert "content-encoding" not in headers
    assert json.loads(body) == {"data": {"viewer": {"isAdmin": True}}}


def test_the_snippet_and_metrics_are_compressed(client: TestClient) -> None:
    headers, body = raw(client, "GET", "/sdk.js", "gzip")
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == client.get("/sdk.js").content
    headers, body = raw(client, "GET", "/metrics", "gzip")
    assert headers["content-encoding"] == "gzip"
    assert b"gigmetrics_events_total" in gzip.decompress(body)


def test_collect_answers_are_never_compressed_even_over_1_kb(client: TestClient) -> None:
    now = int(time.time() * 1000)
    bad = [{"id": f"bad-{i:04d}", "type": "nope", "gig": "g-1", "ts": now} for i in range(60)]
    headers, body = raw(client, "POST", "/collect", "gzip, br, zstd",
                        content=json.dumps({"events": bad}))
    assert len(body) > 1024
    assert "content-encoding" not in headers
    assert len(json.loads(body)["rejected"]) == 60
