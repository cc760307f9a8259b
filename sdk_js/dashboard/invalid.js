// Invalid traffic as the dashboard explains it (pure): what each stable reason code of
// `invalidTraffic` means and what to do about it, and a seller's gigs summed per reason.
// /collect answers "accepted" to such events on purpose (a bot is not told it was caught), so
// this panel is where the operator learns why traffic did not count.

const TESTING = "see \"Testing with automated browsers\" in the README";

export const REASONS = {
  crawler: {
    label: "Crawler or tool",
    means: "The browser's user agent names a crawler, a bot or a tool (Googlebot, curl, HeadlessChrome…).",
    todo: `Nothing for real crawlers. If it is your own headless test browser, give it a desktop user agent: ${TESTING}.`,
  },
  declared_automation: {
    label: "Automated browser",
    means: "The browser said it is driven by automation (navigator.webdriver: Playwright, Puppeteer, Selenium).",
    todo: `Nothing for bots. For your own tests, start Chromium with --disable-blink-features=AutomationControlled: ${TESTING}.`,
  },
  over_rate: {
    label: "Too many events too fast",
    means: "More events a minute from one page view or one address than a person makes.",
    todo: "If many real visitors share one address (an office, a mobile carrier), raise the ip limit of GIGMETRICS_RATE_LIMITS; load tests turn it off.",
  },
  too_many_tiles: {
    label: "Too many tiles on one page",
    means: "Over 1,000 tiles served in one page view within 30 minutes: a scraper, or a page that keeps loading.",
    todo: "If a real page shows that many tiles, raise the tiles limit of GIGMETRICS_RATE_LIMITS.",
  },
  click_unshown: {
    label: "Click before anything showed",
    means: "A click under half a second after its tile was put on the page: too fast for a person.",
    todo: "Usually a script. If your own tests click, let the tile show for a second first.",
  },
  unsigned: {
    label: "Unsigned listing",
    means: "Signing is on, and the listing or gig page carried no signature.",
    todo: "Sign every listing and gig page your backend renders (README: \"Signed listings\").",
  },
  bad_signature: {
    label: "Signature does not match",
    means: "The signature was forged or altered, or made with a key this server does not have.",
    todo: "Check that GIGMETRICS_SIGNING_KEYS still holds the key your backend signs with.",
  },
  stale_signature: {
    label: "Signature too old",
    means: "The page was signed too long before its events: a cached page, or a clock that is off.",
    todo: "Do not cache signed pages for long, and check your backend's clock.",
  },
  replayed: {
    label: "Signed tile used twice",
    means: "A signed tile was spent already by another showing or page load.",
    todo: "Sign each render anew; never serve one signed page to several visitors.",
  },
};

export const KINDS = {
  GIVT: "General invalid traffic: what routine filtering catches (crawlers, automation, rates no person reaches).",
  SIVT: "Sophisticated invalid traffic: it looks like a person until checked more closely (impossible clicks, missing or forged signatures).",
};

/** What a reason means, for a code this dashboard does not know yet too. */
export function reasonInfo(reason) {
  return REASONS[reason] || { label: reason, means: "A reason this dashboard does not describe yet.",
    todo: "See the invalid-traffic list in the README." };
}

/** Invalid traffic of one or more gigs (lists of {reason, kind, events}) summed per reason,
 *  most first: {rows, total, byKind: {GIVT, SIVT}}. */
export function sumInvalid(lists) {
  const byReason = new Map();
  for (const row of lists.flat()) {
    const seen = byReason.get(row.reason);
    if (seen) seen.events += row.events;
    else byReason.set(row.reason, { reason: row.reason, kind: row.kind, events: row.events });
  }
  const rows = [...byReason.values()].filter((r) => r.events > 0)
    .sort((a, b) => b.events - a.events || a.reason.localeCompare(b.reason));
  const byKind = { GIVT: 0, SIVT: 0 };
  for (const r of rows) byKind[r.kind] = (byKind[r.kind] || 0) + r.events;
  return { rows, total: rows.reduce((n, r) => n + r.events, 0), byKind };
}
