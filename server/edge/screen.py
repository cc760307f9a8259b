"""Which sellers a write key may write: events naming others, or another seller's gig, are
refused at the edge with the reason (the owners already known are looked up by the caller)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..model import Batch, Event, Rejection
from .untrusted import raw_copy

# Decides, per accepted event, why it may not be written (None: it may).
EventScreen = Callable[[Event], str | None]


def seller_screen(sellers: frozenset[str], known: Mapping[str, str]) -> EventScreen:
    """Refuse events that do not name one of `sellers`, or whose gig is another seller's."""
    allowed = ", ".join(repr(s) for s in sorted(sellers)) or "none"

    def screen(event: Event) -> str | None:
        if event.seller is None:
            return f"seller: required with this API key (one of {allowed})"
        if event.seller not in sellers:
            return f"seller: {event.seller!r} is not one this API key may write ({allowed})"
        owner = known.get(event.gig)
        if owner is not None and owner not in sellers:
            # The owner is not named: a partner must not learn whose gig it is.
            return f"gig: {event.gig!r} belongs to a seller this API key may not write"
        return None

    return screen


def screened(
    batch: Batch, raw_events: Sequence[Mapping[str, Any]], screen: EventScreen, now: int
) -> Batch:
    """The batch with the events `screen` refuses moved to its rejections (by batch index)."""
    refused = {r.index for r in batch.rejections}
    indices = [i for i in range(len(raw_events)) if i not in refused]
    kept: list[Event] = []
    rejections = list(batch.rejections)
    for index, event in zip(indices, batch.events, strict=True):
        reason = screen(event)
        if reason is None:
            kept.append(event)
        else:
            rejections.append(Rejection(index, reason, raw_copy(raw_events[index]), now))
    rejections.sort(key=lambda r: r.index)
    return Batch(tuple(kept), tuple(rejections))
