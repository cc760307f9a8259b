"""What the commands' parsers share: the help format, the settings epilog, id types."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..edge.events import GIG_ID, GIG_RULE
from ..settings import DOCUMENTED

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


class Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    pass


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
