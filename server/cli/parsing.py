"""What the commands' parsers share: the help format, the settings epilog, id types."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..edge.events import GIG_ID, GIG_RULE
from ..settings import DOCUMENTED

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


class Help(argparse.RawDescriptionHelpFormatter):
    """Help that names an option's default when it has one worth saying: not None, not a
    flag's False, and not when the help text already says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or action.option_strings == []  # positionals are always given
        ):
            return text
        return f"{text} (default: %(default)s)"


def settings_help() -> str:
    """The settings, as `--help` lists them."""
    width = max(len(name) for name, _, _ in DOCUMENTED)
    lines = ["settings (environment variables, read at start):"]
    for name, default, meaning in DOCUMENTED:
        lines.append(f"  {name:<{width}}  {meaning} [default: {default}]")
    return "\n".join(lines)


def gig_id(text: str) -> str:
    """A gig or seller id, by the collector's rule."""
    if not GIG_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text[:80]!r} is not a gig or seller id: {GIG_RULE}")
    return text


def seller_id(text: str) -> str:
    """A seller id, by the collector's rule."""
    if not GIG_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a seller id: {GIG_RULE}")
    return text
