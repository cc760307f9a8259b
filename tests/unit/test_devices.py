"""Devices from User-Agents (SPEC §7 byDevice): real agents, and a cache that stays bounded."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from server.edge.bots import is_crawler
from server.edge.devices import device_of
from server.edge.events import crawled, parse_batch
from server.model import Device

DESKTOP, MOBILE, TABLET, OTHER = Device.DESKTOP, Device.MOBILE, Device.TABLET, Device.OTHER
RECEIVED = 1_763_800_000_000

AGENTS = [
    # Desktops
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", DESKTOP),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", DESKTOP),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", DESKTOP),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", DESKTOP),  # also iPadOS 13+ Safari: the same agent
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/130.0.0.0 Safari/537.36", DESKTOP),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0", DESKTOP),
    ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", DESKTOP),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", DESKTOP),
    ("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0; Tablet PC 2.0)", DESKTOP),
    # Phones
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", MOBILE),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
     "like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", MOBILE),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", MOBILE),
    ("Mozilla/5.0 (Linux; Android 14; SM-S928B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", MOBILE),
    ("Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", MOBILE),
    ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063", MOBILE),
    ("Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; "
     "Touch; NOKIA; Lumia 920)", MOBILE),
    ("Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) "
     "Presto/2.5.25 Version/10.54", MOBILE),
    ("Mozilla/5.0 (BB10; Touch) AppleWebKit/537.1+ (KHTML, like Gecko) Version/10.0.0.1337 "
     "Mobile Safari/537.1+", MOBILE),
    ("Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) "
     "Gecko/48.0 Firefox/48.0 KAIOS/2.5", MOBILE),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.5]",
     MOBILE),
    # Tablets
    ("Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/12.1 Mobile/15E148 Safari/604.1", TABLET),  # "Mobile", but an iPad
    ("Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", TABLET),
    ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", TABLET),  # Android without "Mobile"
    ("Mozilla/5.0 (Linux; Android 12; Pixel Tablet) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", TABLET),
    ("Mozilla/5.0 (Android 14; Tablet; rv:133.0) Gecko/133.0 Firefox/133.0", TABLET),
    ("Mozilla/5.0 (Linux; Android 9; KFMAWI) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Silk/108.5.1 like Chrome/108.0.5359.220 Safari/537.36", TABLET),
    ("Mozilla/5.0 (X11; U; Linux armv7l like Android; en-us) AppleWebKit/531.2+ (KHTML, like "
     "Gecko) Version/5.0 Safari/531.2+ Gecko/20110923 Kindle/3.0 (screen 600x800; rotate)",
     TABLET),
    ("Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ (KHTML, like "
     "Gecko) Version/7.2.1.0 Safari/536.2+", TABLET),
    # Neither: TVs, consoles, headsets, apps, tools, nothing
    ("Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
     "76.0.3809.146/6.0 TV Safari/537.36", OTHER),
    ("Mozilla/5.0 (Linux; Android 9; BRAVIA 4K GB ATV3 Build/PTT1.190515.001.S52) "
     "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36", OTHER),
    ("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7285) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/108.0.0.0 Safari/537.36", OTHER),  # a Fire TV stick, not a Kindle
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", OTHER),
    ("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/13.0 Safari/605.1.15", OTHER),
    ("Mozilla/5.0 (X11; Linux x86_64; Quest 3) AppleWebKit/537.36 (KHTML, like Gecko) "
     "OculusBrowser/35.1 Chrome/130.0.0.0 VR Safari/537.36", OTHER),
    ("curl/8.5.0", OTHER),
    ("", OTHER),
    ("Dalvik/2.1.0 (Linux; U; Android 14; SM-S928B Build/UP1A.231005.007)", OTHER),
]


@pytest.mark.parametrize(("agent", "device"), AGENTS, ids=lambda v: str(v)[:60])
def test_real_agents_get_their_device(agent: str, device: Device) -> None:
    assert device_of(agent) is device


def test_the_table_covers_every_device_with_real_agents() -> None:
    assert len(AGENTS) >= 25
    assert {device for _, device in AGENTS} == set(Device)


CRAWLERS_DRESSED_AS_PHONES = [
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1 (compatible; AdsBot-Google-Mobile; "
    "+http://www.google.com/mobile/adsbot.html)",
]


@pytest.mark.parametrize("agent", CRAWLERS_DRESSED_AS_PHONES)
def test_a_crawlers_events_are_of_no_device_whatever_its_agent_says(agent: str) -> None:
    # The agent names a phone; the crawler screen decides, and its events count nowhere.
    assert is_crawler(agent) and device_of(agent) is MOBILE
    body = {"events": [{"id": "evt-00001", "type": "view", "gig": "g-1", "ts": RECEIVED}]}
    parsed = parse_batch(body, received=RECEIVED, device=device_of(agent))
    assert [e.device for e in crawled(parsed).events] == [OTHER]
    as_crawler = parse_batch(body, received=RECEIVED, automated=True, device=device_of(agent))
    assert [e.device for e in as_crawler.events] == [OTHER]


def test_an_agent_padded_to_a_megabyte_is_judged_by_its_start() -> None:
    phone = AGENTS[9][0]
    assert device_of(phone + " " + "Windows NT " * 100_000) is MOBILE


def test_distinct_huge_agents_are_not_kept_whole() -> None:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(300):
            device_of(f"Mozilla/5.0 (Linux; Android {n}) " + "x" * 200_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # 300 agents cut to 512 characters: well under a megabyte, where whole agents would
    # hold 60 MB.
    assert grown < 2_000_000, grown
