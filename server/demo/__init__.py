"""Demo pages: a small fake marketplace carrying the snippet, to try it and to test it.

A fixed catalogue of 120 gigs (12 sellers x 10) across 6 categories, so a search has 96
results: 48 rendered by the server and 48 more behind "Load more". A few gigs run a listing
experiment (`EXPERIMENTS`: each render of their tile shows thumbnail A or B), and a gig page's
"Order" button leads to an order confirmation page that reports the order.
"""

from __future__ import annotations

import base64
import hashlib
import html
import random
import re
import secrets
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from ..edge.signing import sign_listing, sign_page
from ..model import now_ms
from ..settings import Settings

PAGE_SIZE = 48

CATEGORIES = {
    "logo-design": ("Logo design", "design a {} logo for your brand", 0),
    "web-development": ("Web development", "build a {} website with a CMS", 210),
    "video-editing": ("Video editing", "edit a {} video for YouTube", 20),
    "copywriting": ("Copywriting", "write {} copy for your landing page", 280),
    "voice-over": ("Voice over", "record a {} voice over in English", 330),
    "data-analysis": ("Data analysis", "analyse your data with {} dashboards", 180),
}
STYLES = ["minimalist", "modern", "playful", "premium", "vintage", "bold", "clean", "sleek"]
SELLERS = ["alice", "bob", "carol", "dave", "erin", "frank",
           "grace", "heidi", "ivan", "judy", "mallory", "oscar"]
SEARCHES = ["logo design", "website", "video editing", "voice over"]
# Gigs whose tiles run an A/B test of two thumbnails: A is the plain one, B a bolder one.
EXPERIMENTS = {"g-101": ("A", "B"), "g-102": ("A", "B")}
# An order id from the confirmation page's address: the event-id rule.
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass(frozen=True)
class Gig:
    """One fake listing."""

    gig_id: str
    seller: str
    category: str
    title: str
    price: int
    hue: int

    @property
    def category_name(self) -> str:
        return CATEGORIES[self.category][0]


@cache
def catalogue() -> dict[str, Gig]:
    """All demo gigs by id: g-101 ... g-220."""
    gigs: dict[str, Gig] = {}
    slugs = list(CATEGORIES)
    for n in range(120):
        seller, category = SELLERS[n % 12], slugs[(n + n // 12) % 6]
        _, pattern, hue = CATEGORIES[category]
        gig_id = f"g-{101 + n}"
        style = STYLES[(n * 5 + n // 12) % len(STYLES)]
        title = "I will " + pattern.format(style)
        gigs[gig_id] = Gig(gig_id, seller, category, title, 5 * (3 + (n * 7) % 40), hue + n % 5 * 8)
    return gigs


def search(query: str) -> list[Gig]:
    """96 results: gigs matching a word of the query first, then the rest, in a stable order."""
    words = {w for w in query.lower().split() if len(w) > 2}

    def rank(gig: Gig) -> tuple[bool, str]:
        text = f"{gig.title} {gig.category_name}".lower()
        hit = any(w in text for w in words)
        return (not hit, hashlib.sha1(f"{query}|{gig.gig_id}".encode()).hexdigest())

    return sorted(catalogue().values(), key=rank)[: 2 * PAGE_SIZE]


@cache
def _template(name: str) -> Template:
    return Template(files(__name__).joinpath(name).read_text(encoding="utf-8"))


def _tiles(gigs: list[Gig], sigs: list[str] | None = None) -> str:
    tile = _template("tile.html")
    return "\n".join(
        tile.substitute(
            gig=g.gig_id, seller=g.seller, title=html.escape(g.title), price=g.price,
            category_name=g.category_name, sig=f' data-gm-sig="{sigs[i]}"' if sigs else "",
            **_thumbnail(g),
        ).strip()
        for i, g in enumerate(gigs)
    )


def _thumbnail(gig: Gig) -> dict[str, str]:
    """The tile's thumbnail, and for an experiment's gig the variant this render shows
    (picked per render, as a marketplace's A/B test would)."""
    plain = f"background:hsl({gig.hue} 55% 45%)"
    variants = EXPERIMENTS.get(gig.gig_id)
    if variants is None:
        return {"variant": "", "thumb": plain, "badge": ""}
    shown = random.choice(variants)
    if shown == variants[0]:
        return {"variant": f' data-gm-variant="{shown}"', "thumb": plain, "badge": ""}
    bold = (f"background:linear-gradient(135deg,hsl({gig.hue} 70% 38%),"
            f"hsl({(gig.hue + 40) % 360} 75% 55%))")
    return {"variant": f' data-gm-variant="{shown}"', "thumb": bold,
            "badge": '<span class="badge">Top rated</span>'}


def _signed(settings: Settings, surface: str, context: str, gigs: list[Gig]) -> list[str] | None:
    """One token per tile of this render (one nonce), when signing is on: what an operator's
    backend does for every listing it renders."""
    if settings.signing_keys is None:
        return None
    return sign_listing(settings.signing_keys, surface, context,
                        [(g.gig_id, g.seller) for g in gigs], now=now_ms())


def _page(title: str, content: str, query: str = "") -> HTMLResponse:
    categories = "".join(
        f'<a href="/demo/category/{slug}">{name}</a>' for slug, (name, _, _) in CATEGORIES.items()
    )
    body = _template("layout.html").substitute(
        title=html.escape(title), content=content, categories=categories,
        query=html.escape(query),
    )
    return HTMLResponse(body, headers=page_headers())


@cache
def page_headers() -> dict[str, str]:
    """What every demo page is sent with: no framing, no script but the snippet (same origin)
    and the "load more" script, allowed by its hash."""
    inline = _template("more.html").template.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    return {
        "content-security-policy": (
            f"default-src 'self'; script-src 'self' 'sha256-{digest}'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        ),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
    }


def _page_sig(settings: Settings, gig: Gig) -> str:
    keys = settings.signing_keys
    if keys is None:
        return ""
    return f' data-gm-sig="{sign_page(keys, gig.gig_id, gig.seller, now=now_ms())}"'


def _listing(settings: Settings, heading: str, sub: str, surface: str, context: str,
             gigs: list[Gig], more: list[Gig] | None = None, query: str = "") -> HTMLResponse:
    # "Load more" tiles are part of the same render: their positions continue (49, 50...).
    sigs = _signed(settings, surface, context, gigs + (more or []))
    more_html = (
        _template("more.html").substitute(
            tiles=_tiles(more, sigs[len(gigs):] if sigs else None)
        )
        if more else ""
    )
    content = _template("listing.html").substitute(
        heading=html.escape(heading), subheading=sub, surface=surface,
        context=html.escape(context), tiles=_tiles(gigs, sigs), more=more_html,
    )
    return _page(heading, content, query)


DEMO_ADMIN_KEY = "demo-admin-key"  # what scripts/serve uses when none is set


def demo_routes(settings: Settings) -> list[Route]:
    """`/` and the `/demo/...` pages."""
    key_note = ("the key is the server's GIGMETRICS_ADMIN_KEY" if settings.admin_key
                else "set GIGMETRICS_ADMIN_KEY first: this server has no admin key")
    # Only scripts/serve's well-known local key is shown; a real key never is.
    shown_key = (DEMO_ADMIN_KEY if settings.admin_key == DEMO_ADMIN_KEY
                 else "YOUR_GIGMETRICS_ADMIN_KEY")

    async def index(request: Request) -> HTMLResponse:
        gigs = catalogue()
        home = [gigs[f"g-{101 + n * 9}"] for n in range(12)]
        content = _template("index.html").substitute(
            searches=", ".join(f'<a href="/demo/search?q={q.replace(" ", "+")}">{q}</a>'
                               for q in SEARCHES),
            category_links=", ".join(f'<a href="/demo/category/{slug}">{name}</a>'
                                     for slug, (name, _, _) in CATEGORIES.items()),
            seller_links=", ".join(f'<a href="/demo/seller/{s}">{s}</a>' for s in SELLERS),
            key_note=key_note,
            shown_key=shown_key,
            tiles=_tiles(home, _signed(settings, "homepage", "", home)),
        )
        return _page("Home", content)

    async def search_page(request: Request) -> HTMLResponse:
        query = request.query_params.get("q", "").strip()[:128]
        results = search(query)
        shown = f"for “{html.escape(query)}”" if query else "for everything"
        return _listing(settings, f"Results {shown}", f"{len(results)} services · surface search",
                        "search", query, results[:PAGE_SIZE], results[PAGE_SIZE:], query)

    async def category_page(request: Request) -> HTMLResponse:
        slug = request.path_params["slug"]
        if slug not in CATEGORIES:
            raise HTTPException(404, f"no demo category {slug!r}; try {', '.join(CATEGORIES)}")
        gigs = [g for g in catalogue().values() if g.category == slug]
        return _listing(settings, CATEGORIES[slug][0], f"{len(gigs)} services · surface category",
                        "category", slug, gigs)

    async def seller_page(request: Request) -> HTMLResponse:
        seller = request.path_params["seller"]
        gigs = [g for g in catalogue().values() if g.seller == seller]
        if not gigs:
            raise HTTPException(404, f"no demo seller {seller!r}; try {', '.join(SELLERS)}")
        return _listing(settings, f"{seller}'s gigs", "A seller's profile · surface user_page",
                        "user_page", seller, gigs)

    async def gig_page(request: Request) -> HTMLResponse:
        gig = catalogue().get(request.path_params["gig"])
        if gig is None:
            raise HTTPException(404, "no such demo gig; ids run from g-101 to g-220")
        others = [g for g in catalogue().values() if g.seller == gig.seller and g != gig][:4]
        content = _template("gig.html").substitute(
            gig=gig.gig_id, seller=gig.seller, title=html.escape(gig.title), price=gig.price,
            color=f"hsl({gig.hue} 55% 45%)", category=gig.category,
            category_name=gig.category_name, days=2 + gig.price % 5,
            tiles=_tiles(others, _signed(settings, "other", "", others)),
            page_sig=_page_sig(settings, gig),
        )
        return _page(gig.title, content)

    async def order_page(request: Request) -> HTMLResponse | RedirectResponse:
        gig = catalogue().get(request.path_params["gig"])
        if gig is None:
            raise HTTPException(404, "no such demo gig; ids run from g-101 to g-220")
        order_id = request.query_params.get("id")
        if order_id is None:
            # The order gets its id once; the confirmation's address keeps it, so a reload
            # reports the same order again, which counts once.
            fresh = f"ORD-{secrets.token_hex(6).upper()}"
            return RedirectResponse(f"/demo/order/{gig.gig_id}?id={fresh}", status_code=303)
        if not ORDER_ID.fullmatch(order_id):
            raise HTTPException(404, "no such demo order; an order id is 8 to 64 characters "
                                     "of A-Z a-z 0-9 _ -")
        content = _template("order.html").substitute(
            order=order_id, gig=gig.gig_id, seller=gig.seller, title=html.escape(gig.title),
            price=gig.price,
        )
        return _page(f"Order {order_id}", content)

    return [
        Route("/", index),
        Route("/demo/search", search_page),
        Route("/demo/category/{slug}", category_page),
        Route("/demo/seller/{seller}", seller_page),
        Route("/demo/gig/{gig}", gig_page),
        Route("/demo/order/{gig}", order_page),
    ]
