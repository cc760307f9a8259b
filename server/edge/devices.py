"""What kind of device showed a tile, from its request's User-Agent: desktop, mobile, tablet.

A few literal alternations on RE2, tried in order, the way browser vendors tell their own
agents apart (Google: Android tablets leave out "Mobile"; Mozilla: "Mobi" means a phone):

1. TVs, consoles, headsets, apps' HTTP clients: OTHER.
2. TABLET: iPad, Kindle and Silk (Amazon's Fire tablets, their "KF…" model codes), PlayBook,
   a "Tablet" token (Firefox for Android tablets).
3. MOBILE: "Mobi" (Android phones, "Mobile Safari", Firefox OS, Opera Mobile), iPhone, iPod,
   Windows Phone, BlackBerry, Opera Mini, KaiOS.
4. TABLET again: any other Android agent, i.e. Android without "Mobile".
5. DESKTOP: Windows, macOS, Linux on X11, ChromeOS. Anything else is OTHER.

What no agent can tell: iPadOS 13+ Safari asks for desktop sites by default and sends the
very agent of Safari on a Mac, so those iPads count as DESKTOP (so does any phone or tablet
whose user picked "request desktop site"). Telling them apart needs the page (touch points),
which the snippet does not send.

Crawlers are not a device question: their events are invalid traffic, never counted, and the
crawler screen files them under OTHER (`events.crawled`). It is not asked here, so a beacon
that brings no events never pays for it (`collect.py`).

Cut and cached like bots.py: a bounded number of agents of bounded length, so a client
sending made-up agents can neither grow memory nor make a search slow (RE2 is linear).
"""

from __future__ import annotations

from functools import lru_cache

import re2

from ..model import Device
from .bots import CACHED_AGENTS, MAX_USER_AGENT_CHARS

_OTHER = re2.compile(
    r"SMART-TV|SmartTV|Smart-TV|HbbTV|Web0S|WebOS TV|NetCast|GoogleTV|Android TV|AppleTV|"
    r"CrKey|Roku|BRAVIA|\bAFT[A-Z]|PlayStation|Xbox|Nintendo|OculusBrowser|\bTV\b|"
    # An Android app's own HTTP client: it names the system, not the screen.
    r"Dalvik/"
)
_TABLET = re2.compile(r"iPad|Kindle|Silk/|PlayBook|\bKF[A-Z]{2,5}\b|\bTablet\b[;)]")
_MOBILE = re2.compile(
    r"Mobi|iPhone|iPod|Windows Phone|BlackBerry|\bBB10\b|Opera Mini|KaiOS|Symbian|"
    r"Nokia|UCBrowser"
)
_DESKTOP = re2.compile(r"Windows NT|Macintosh|\bX11\b|\bCrOS\b|Linux x86_64")


def device_of(user_agent: str) -> Device:
    """The device class of a request's User-Agent (OTHER when it names none)."""
    # Cut before the cache, as bots.py does: distinct huge agents must not be kept whole.
    return _device_of(user_agent[:MAX_USER_AGENT_CHARS])


@lru_cache(maxsize=CACHED_AGENTS)
def _device_of(agent: str) -> Device:
    if _OTHER.search(agent):
        return Device.OTHER
    if _TABLET.search(agent):
        return Device.TABLET
    if _MOBILE.search(agent):
        return Device.MOBILE
    if "Android" in agent:
        return Device.TABLET
    if _DESKTOP.search(agent):
        return Device.DESKTOP
    return Device.OTHER
