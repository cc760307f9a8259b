"""Batched reads: every gig node of a request asks here, and the store is asked once."""

from __future__ import annotations

from strawberry.dataloader import DataLoader

from ..counting.metrics import ContextRow, GigReport, Metrics
from ..counting.splits import SplitRow
from ..service import MetricsService, Span

ReportKey = tuple[str, Span]
ReportLoader = DataLoader[ReportKey, GigReport]


def report_loader(service: MetricsService) -> ReportLoader:
    """Loads gig reports (daily series and surfaces); one store read per window asked."""

    async def load(keys: list[ReportKey]) -> list[GigReport]:
        gigs_by_span: dict[Span, list[str]] = {}
        for gig, span in keys:
            gigs_by_span.setdefault(span, []).append(gig)
        found: dict[ReportKey, GigReport] = {}
        for span, gigs in gigs_by_span.items():
            reports = await service.reports(sorted(set(gigs)), span)
            found.update(((gig, span), report) for gig, report in reports.items())
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


SellerLoader = DataLoader[str, str | None]


def seller_loader(service: MetricsService) -> SellerLoader:
    """Loads each gig's known seller (None: none known); one store read per batch."""

    async def load(gigs: list[str]) -> list[str | None]:
        found = await service.sellers_of(sorted(set(gigs)))
        return [found.get(gig) for gig in gigs]

    return DataLoader(load_fn=load)


TotalsLoader = DataLoader[ReportKey, Metrics]


def totals_loader(service: MetricsService) -> TotalsLoader:
    """Loads gig totals (e.g. every previousPeriod of a page); one store read per window."""

    async def load(keys: list[ReportKey]) -> list[Metrics]:
        found: dict[ReportKey, Metrics] = {}
        for span, gigs in _by_span(keys).items():
            totals = await service.totals(sorted(set(gigs)), span)
            found.update(((gig, span), m) for gig, m in totals.items())
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


ContextLoader = DataLoader[ReportKey, list[ContextRow]]


def context_loader(service: MetricsService) -> ContextLoader:
    """Loads gigs' context rollups (byContext); one store read per window asked."""

    async def load(keys: list[ReportKey]) -> list[list[ContextRow]]:
        found: dict[ReportKey, list[ContextRow]] = {}
        for span, gigs in _by_span(keys).items():
            rows = await service.contexts(sorted(set(gigs)), span)
            found.update(((gig, span), found_rows) for gig, found_rows in rows.items())
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


SplitLoader = DataLoader[ReportKey, list[SplitRow]]


def split_loader(service: MetricsService) -> SplitLoader:
    """Loads gigs' variant, device and revenue rollups per day (variants, byDevice,
    revenue share one read); one store read per window asked."""

    async def load(keys: list[ReportKey]) -> list[list[SplitRow]]:
        found: dict[ReportKey, list[SplitRow]] = {}
        for span, gigs in _by_span(keys).items():
            rows = await service.splits(sorted(set(gigs)), span)
            found.update(((gig, span), found_rows) for gig, found_rows in rows.items())
        return [found[key] for key in keys]

    return DataLoader(load_fn=load)


def _by_span(keys: list[ReportKey]) -> dict[Span, list[str]]:
    gigs_by_span: dict[Span, list[str]] = {}
    for gig, span in keys:
        gigs_by_span.setdefault(span, []).append(gig)
    return gigs_by_span
