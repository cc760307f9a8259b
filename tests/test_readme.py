"""The README's commands run as written: programs exist, `gigmetrics` subcommands and flags exist,
every setting it names is real. Servers are not started from it."""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from server.cli import _parser
from server.settings import DOCUMENTED

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
# Programs a reader is expected to have; anything else must be a file of the repository.
KNOWN_PROGRAMS = {"curl", "docker", "python", "gigmetrics", "cat"}
# Variables that are not settings of the server but are named on purpose.
OTHER_VARIABLES = {"GIGMETRICS_TEST_MONGODB_URL", "GIGMETRICS_VENV"}


def shell_commands() -> list[list[str]]:
    """Every command of the README's bash blocks, as words (continuations joined)."""
    commands = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def inline_commands() -> list[list[str]]:
    """Commands in the prose's code spans: `gigmetrics …`, or anything with a --flag."""
    spans = re.findall(r"`([^`\n]+)`", README)
    command = re.compile(r"(\.venv/bin/)?gigmetrics(\s|$)|\S+ .*\s--\w")
    return [shlex.split(span) for span in spans if command.match(span)]


def program(words: list[str]) -> tuple[str, list[str]]:
    """The program a command runs and its arguments (leading VAR=value words skipped; "" for
    a line that only sets a variable)."""
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words = words[1:]
    return (words[0], words[1:]) if words else ("", [])


def test_every_program_exists() -> None:
    for words in [*shell_commands(), *inline_commands()]:
        name, _ = program(words)
        if not name:
            continue
        if "/" in name:
            if name.startswith(".venv/bin/"):
                name = name.removeprefix(".venv/bin/")
                assert name in KNOWN_PROGRAMS, words
            else:
                assert (REPO / name).is_file(), f"{name} in {words}"
        else:
            assert name in KNOWN_PROGRAMS, f"{name!r} is not a program the README may assume"


def gigmetrics_invocations() -> list[list[str]]:
    found = []
    for words in [*shell_commands(), *inline_commands()]:
        name, args = program(words)
        if name.endswith("gigmetrics"):
            found.append(args)
        if name == "scripts/serve":  # passes its arguments on to `gigmetrics serve`
            found.append(["serve", *args])
    return found


def test_readme_runs_gigmetrics_in_many_ways() -> None:
    assert len(gigmetrics_invocations()) >= 5


@pytest.mark.parametrize("args", gigmetrics_invocations(), ids=" ".join)
def test_every_gigmetrics_subcommand_and_flag_exists(args: list[str]) -> None:
    parser = _parser()
    words = list(args)
    while words and not words[0].startswith("-"):
        subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subcommands:
            break
        assert words[0] in subcommands[0].choices, f"no subcommand {words[0]!r}: {args}"
        parser = subcommands[0].choices[words.pop(0)]
    flags = {flag for action in parser._actions for flag in action.option_strings}
    for word in words:
        if word.startswith("-"):
            assert word.split("=")[0] in flags, f"{word} is not a flag of {parser.prog}"


def test_every_variable_named_is_a_real_setting() -> None:
    settings = {name for name, _, _ in DOCUMENTED}
    named = set(re.findall(r"\bGIGMETRICS_[A-Z_]+\b", README)) - OTHER_VARIABLES
    assert named - settings == set(), "the README names settings that do not exist"
    assert settings - named == set(), "the README leaves settings out"


def test_every_file_named_exists() -> None:
    for path in re.findall(r"\b((?:scripts|bench)/[\w./-]+\w)", README):
        assert (REPO / path).exists(), path


def test_safe_commands_run() -> None:
    for args in (["--version"], ["--help"], ["serve", "--help"], ["keys", "create", "--help"],
                 ["schema"]):
        done = subprocess.run([sys.executable, "-m", "server", *args], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout and not done.stderr, (args, done.stderr)
