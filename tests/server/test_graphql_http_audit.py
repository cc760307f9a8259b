"""The `graphql-http` audit suite (npm) against a live server: no failed MUST, no SHOULD warning."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from .conftest import REPO, ServerProcess

AUDIT = REPO / "sdk_js" / "tools" / "graphql-http-audit.mjs"

pytestmark = pytest.mark.slow


@pytest.mark.skipif(
    shutil.which("node") is None or not (REPO / "sdk_js/node_modules/graphql-http").is_dir(),
    reason="needs node and `npm ci` in sdk_js (scripts/install does both)",
)
def test_graphql_over_http_audit_has_no_failure_and_no_warning(
    server_process: ServerProcess,
) -> None:
    server_process.start()
    out = subprocess.run(
        ["node", str(AUDIT), f"{server_process.url}/graphql"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    results = json.loads(out)
    assert len(results) > 50  # the suite ran
    not_ok = [f"{r['status']}: {r['name']} ({r['reason']})" for r in results
              if r["status"] != "ok"]
    assert not_ok == []
