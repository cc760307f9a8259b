"""The project as a new user meets it: a quiet install, quiet test output, a license."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _pyproject() -> dict[str, object]:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_folder_of_the_package_is_listed_so_setuptools_stays_quiet() -> None:
    # An importable folder missing from `packages` makes setuptools print ~40 lines per build.
    folders = {
        ".".join(path.relative_to(REPO).parts)
        for path in [REPO / "server", *(REPO / "server").rglob("*")]
        if path.is_dir() and path.name != "__pycache__"
    }
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    assert set(tool["setuptools"]["packages"]) == folders
    # A flat layout without this makes editable installs warn about same-named folders.
    assert tool["setuptools"]["package-dir"] == {"": "."}


def test_license_file_matches_pyproject() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict) and project["license"] == "MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_snippet_unit_tests_print_a_summary_not_tap() -> None:
    script = json.loads((REPO / "sdk_js" / "package.json").read_text())["scripts"]["test"]
    done = subprocess.run(
        script, shell=True, cwd=REPO / "sdk_js", capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert len((done.stdout + done.stderr).splitlines()) <= 3, done.stdout
