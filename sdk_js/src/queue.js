// Event ids, batching and the network: sendBeacon with a text/plain JSON string (a
// CORS-safelisted request, so no preflight), fetch keepalive when the beacon is refused.

import { blocked } from "./config.js";

const WAIT_MS = 5000;

// Event, impression and page-view ids: 8 base-36 digits of the time (ms) and 16 random
// ones (64 bits). The time first makes ids sort by when they were made, so the server's
// dedupe indexes take new ids at one edge instead of all over (several times faster).
// Random numbers come from crypto.getRandomValues in bulk (one call per id costs more than
// all the rest of a tile); each 16-bit number plus 65536 is always 4 base-36 digits.
let pool,
  left = 0;
export const uid = () => {
  let id = Date.now().toString(36);
  for (let i = 0; i < 4; i++) {
    if (!left) pool = crypto.getRandomValues(new Uint16Array((left = 1536)));
    id += (pool[--left] + 65536).toString(36);
  }
  return id;
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

export function queue(settings) {
  const url = settings.url;
  const queued = [];
  const skipped = {};
  let timer;

  // The one place that records why events were not sent: reason -> how many.
  const skip = (why, count = 1) => {
    skipped[why] = (skipped[why] || 0) + count;
  };

  const post = (body, keepalive) => fetch(url, { method: "POST", body, keepalive });

  // The browser caps in-flight beacon/keepalive bytes (64 KB); past that, a plain POST
  // still works while the page lives.
  const send = (body) =>
    navigator.sendBeacon?.(url, body) ||
    post(body, true)
      .catch(() => post(body))
      .catch(() => skip("network"));

  const flush = () => {
    clearTimeout(timer);
    timer = 0;
    const events = queued.splice(0);
    const why = blocked(settings);
    if (why) return skip(why, events.length);
    for (const batch of split(events))
      send(JSON.stringify({ sent_at: Date.now(), automated: settings.automated, events: batch }));
  };

  const push = (type, fields) => {
    queued.push({ id: uid(), type, ...fields, ts: Date.now() });
    timer = timer || setTimeout(flush, WAIT_MS);
  };

  return { push, flush, skip, skipped };
}
