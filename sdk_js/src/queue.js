// Event ids, batching and the network: sendBeacon with a text/plain JSON string (a
// CORS-safelisted request, so no preflight), fetch keepalive when the beacon is refused.

import { blocked, endpoint } from "./config.js";
import { WAIT_MS } from "./limits.js";

// Event, impression and page-view ids: 8 base-36 digits of the time (ms) and 16 random
// letters and digits (95 bits). The time first makes ids sort by when they were made, so the
// server's dedupe indexes take new ids at one edge instead of all over (several times faster).
// The random parts are cut from the end of one base64 string made of 6,000 bytes from
// crypto.getRandomValues (less its + and /), and the time's digits are made once per
// millisecond: per id, a random call or a number-to-text conversion per 16 bits cost more than
// all the rest of a tile (without the once-per-millisecond digits, setting up 1,000 tiles took
// a fifth longer). (Cutting the string's 16-character runs of letters and digits with one
// regular expression is 15 bytes shorter but a quarter slower per id: fewer ids per 6 KB.
// `apply`, not a spread: spreading a typed array into arguments is ten times slower.)
let pool = "",
  ms,
  time;
export const uid = () => {
  if (!pool[15])
    pool = btoa(String.fromCharCode.apply(0, crypto.getRandomValues(new Uint8Array(6e3))))
      .replace(/\W/g, "");
  if (ms != (ms = Date.now())) time = ms.toString(36); // a new millisecond: its digits
  const random = pool.slice(-16);
  pool = pool.slice(0, -16);
  return time + random;
};

// Cut events into payloads of at most 100 events (the server's limit) and 59,000 bytes of
// UTF-8 JSON, which leaves room for the envelope under 60 KB.
export function split(events) {
  const out = [];
  let batch, size;
  for (const event of events) {
    const bytes = new Blob([JSON.stringify(event)]).size + 1;
    if (!batch || batch.length > 99 || size + bytes > 59e3) out.push((batch = [])), (size = 0);
    batch.push(event);
    size += bytes;
  }
  return out;
}

// One queue per page, like the snippet.
const queued = [];
export const skipped = {};
let timer;

// The one place that records why events were not sent: reason -> how many.
export const skip = (why, count = 1) => {
  skipped[why] = (skipped[why] || 0) + count;
};

const post = (body, keepalive) => fetch(endpoint, { method: "POST", body, keepalive });

// The browser caps in-flight beacon/keepalive bytes (64 KB); past that, a plain POST
// still works while the page lives.
const send = (body) =>
  navigator.sendBeacon?.(endpoint, body) ||
  post(body, 1)
    .catch(() => post(body))
    .catch(() => skip("network"));

export const flush = () => {
  clearTimeout(timer);
  timer = 0;
  const events = queued.splice(0);
  const why = blocked();
  if (why) return skip(why, events.length);
  for (const batch of split(events))
    // Clients that declare automation (navigator.webdriver) say so: the server keeps their
    // events but does not count them.
    send(JSON.stringify({ sent_at: Date.now(), automated: navigator.webdriver, events: batch }));
};

// `event` is the caller's to give away: it is completed in place, not copied (copying every
// served event a second time was a fifth of a tile's cost). An order brings its own id.
export const push = (type, event, id = uid()) => {
  event.id = id;
  event.type = type;
  event.ts = Date.now();
  queued.push(event);
  timer = timer || setTimeout(flush, WAIT_MS);
};
