"""Demo pages (placeholder until the snippet lands)."""

from __future__ import annotations

from starlette.routing import Route

from ..settings import Settings


def demo_routes(settings: Settings) -> list[Route]:
    """Demo routes (placeholder)."""
    return []
