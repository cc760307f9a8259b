// Unit tests of the snippet's pure logic (no DOM): node --test
import { test } from "node:test";
import assert from "node:assert/strict";

import { split, uid } from "../src/queue.js";
import { notes, CLICK_SURFACES } from "../src/navigation.js";
import { CLICK_MEMORY_MS, NOTE_MS, MAX_NOTES, LARGE_AREA } from "../src/limits.js";
import { VARIANT, position, price } from "../src/tiles.js";
import { inView } from "../src/viewability.js";

const bytes = (batch) =>
  new Blob([JSON.stringify({ sent_at: Date.now(), automated: false, events: batch })]).size;

const served = (n, extra = {}) => ({
  id: uid(), type: "served", gig: `g-${n}`, imp: uid(), pv: uid(),
  surface: "search", context: "logo design", position: n, ts: Date.now(), ...extra,
});

test("ids start with the time, so they sort by when they were made", () => {
  const before = Date.now().toString(36);
  const id = uid();
  assert.equal(id.length, 24);
  assert.ok(id.slice(0, 8) >= before, `${id} starts before ${before}`);
  assert.ok(id.slice(0, 8) <= Date.now().toString(36));
});

test("ids are 16+ characters of the wire alphabet and do not repeat", () => {
  const ids = new Set();
  for (let i = 0; i < 10000; i++) {
    const id = uid();
    assert.match(id, /^[A-Za-z0-9_-]{16,64}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 10000);
});

test("ids are the time's 8 base-36 digits and 16 random letters and digits", () => {
  const ids = Array.from({ length: 5000 }, uid);
  for (const id of ids) assert.match(id, /^[0-9a-z]{8}[A-Za-z0-9]{16}$/);
  // Every letter and digit turns up at every place of the random part: what is cut from the
  // base64 string is not biased towards part of the alphabet.
  for (let place = 8; place < 24; place++) {
    const used = new Set(ids.map((id) => id[place]));
    assert.equal(used.size, 62, `place ${place}: ${used.size} characters`);
  }
});

test("a payload holds at most 100 events", () => {
  const events = Array.from({ length: 250 }, (_, i) => served(i + 1));
  const batches = split(events);
  assert.deepEqual(batches.map((b) => b.length), [100, 100, 50]);
  assert.deepEqual(batches.flat(), events);
});

test("every payload stays under 60 KB, counting UTF-8 bytes", () => {
  const wide = "検索".repeat(64); // 128 characters, 384 bytes
  const events = Array.from({ length: 500 }, (_, i) => served(i + 1, { context: wide, gig: "g".repeat(64) }));
  const batches = split(events);
  assert.ok(batches.length > 5);
  for (const batch of batches) {
    assert.ok(bytes(batch) < 60000, `payload of ${bytes(batch)} bytes`);
    assert.ok(batch.length <= 100);
  }
  assert.equal(batches.flat().length, 500);
});

test("no events, no payload", () => {
  assert.deepEqual(split([]), []);
});

// notes() reads and writes localStorage.gigmetrics_notes: here a plain object stands in for it.
globalThis.localStorage = {};
const stored = (list) => {
  if (list) localStorage.gigmetrics_notes = JSON.stringify(list);
  return JSON.parse(localStorage.gigmetrics_notes || "[]");
};
// A click (on a click surface unless `surface` says otherwise), a gig page load (does a note
// explain it?), an order (which impression?).
const click = (gig, imp, now, surface = 1) => notes(gig, [imp, surface], 0, now);
const load = (gig, now) => !!notes(gig, 0, 1, now);
const order = (gig, now) => notes(gig, 0, 0, now)?.[2];

test("a click on a click surface explains one load of its gig page within 30 minutes", () => {
  stored([]);
  click("g-1", "i-1", 1000);
  assert.equal(load("g-2", 2000), false);
  assert.equal(load("g-1", 1000 + NOTE_MS - 1), true);
  assert.equal(load("g-1", 1000 + NOTE_MS - 1), false); // used up: a reload is a view
});

test("a note older than 30 minutes explains nothing", () => {
  stored([]);
  click("g-1", "i-1", 0);
  assert.equal(load("g-1", NOTE_MS), false);
});

test("two clicks on one gig explain two loads", () => {
  stored([]);
  click("g-1", "i-1", 1000);
  click("g-1", "i-2", 2000);
  assert.deepEqual([load("g-1", 3000), load("g-1", 3000), load("g-1", 3000)], [true, true, false]);
});

test("a click on another surface is remembered but explains no load", () => {
  stored([]);
  click("g-1", "i-1", 1000, 0);
  assert.equal(load("g-1", 2000), false);
  assert.equal(order("g-1", 2000), "i-1");
});

test("an order names its gig's last click within 7 days, used up or not", () => {
  stored([]);
  click("g-1", "i-1", 1000);
  click("g-2", "i-2", 2000);
  click("g-1", "i-3", 3000, 0);
  assert.equal(load("g-1", 4000), true); // the note of i-1
  assert.equal(order("g-1", 5000), "i-3");
  assert.equal(order("g-1", 3000 + CLICK_MEMORY_MS - 1), "i-3");
  assert.equal(order("g-2", 2000 + CLICK_MEMORY_MS), undefined);
  assert.equal(order("g-3", 5000), undefined);
});

test("clicks are kept 7 days, the newest 50", () => {
  stored([["g-old", 0, "i-old", 1]]);
  for (let i = 0; i < 60; i++) click(`g-${i}`, `i-${i}`, CLICK_MEMORY_MS + i);
  const kept = stored();
  assert.equal(kept.length, MAX_NOTES);
  assert.deepEqual(kept[0], ["g-10", CLICK_MEMORY_MS + 10, "i-10", 1]);
  assert.equal(order("g-5", CLICK_MEMORY_MS + 100), undefined);
  assert.equal(order("g-10", CLICK_MEMORY_MS + 100), "i-10");
});

test("notes of the previous layout ([gig, time]) explain no load and name no impression", () => {
  stored([["g-1", 1000]]);
  assert.equal(load("g-1", 2000), false);
  assert.equal(order("g-1", 2000), undefined);
});

test("unreadable or unavailable storage: nothing is noted or found, nothing throws", () => {
  localStorage.gigmetrics_notes = "{not json";
  assert.equal(load("g-1", 1000), false);
  assert.equal(order("g-1", 1000), undefined);
  const storage = globalThis.localStorage;
  delete globalThis.localStorage;
  try {
    assert.equal(click("g-1", "i-1", 1000), undefined);
    assert.equal(load("g-1", 1000), false);
  } finally {
    globalThis.localStorage = storage;
  }
});

test("only search and category leave notes", () => {
  const surfaces = ["search", "category", "homepage", "user_page", "other"];
  assert.deepEqual(surfaces.filter((s) => CLICK_SURFACES.test(s)), ["search", "category"]);
  for (const near of ["searches", "my_search", "Search", "", undefined])
    assert.equal(CLICK_SURFACES.test(near), false, near);
});

test("positions are 1-based per listing and continue", () => {
  const counts = new Map();
  const a = {}, b = {};
  assert.deepEqual([1, 2, 3].map(() => position(counts, a)), [1, 2, 3]);
  assert.equal(position(counts, b), 1);
  assert.equal(position(counts, a), 4);
});

test("a given position wins, and still takes a place in the order", () => {
  const counts = new Map();
  assert.equal(position(counts, null, "7"), 7);
  assert.equal(position(counts, null), 2);
  for (const bad of ["0", "-3", "abc", ""]) assert.equal(position(counts, null, bad), counts.get(null));
});

const box = (width, height) => ({ width, height });

test("normal tiles need half their area on screen, large ones 30 %", () => {
  assert.equal(inView(0.5, box(300, 300)), true);
  assert.equal(inView(0.45, box(300, 300)), false);
  assert.equal(inView(0.3, box(485, 500)), true);
  assert.equal(inView(0.3, box(LARGE_AREA, 1)), true);
  assert.equal(inView(0.3, box(LARGE_AREA - 1, 1)), false);
});

test("in view: the threshold, with a hair of rounding slack", () => {
  assert.equal(inView(0.5, box(300, 300)), true);
  assert.equal(inView(0.49995, box(300, 300)), true);
  assert.equal(inView(0.499, box(300, 300)), false);
  assert.equal(inView(0.4, box(300, 300)), false);
  assert.equal(inView(0.35, box(600, 600)), true);
  assert.equal(inView(0.25, box(600, 600)), false);
  assert.equal(inView(0, box(300, 300)), false);
});

test("a tile taller than twice the viewport can never be in view", () => {
  const viewport = 720, width = 100, height = 2 * viewport + 2;
  assert.equal(inView(viewport / height, box(width, height)), false);
});

test("a variant is 1 to 32 of the wire alphabet, or left out", () => {
  for (const ok of ["A", "b", "thumb-2", "price_9.99", "v:1", "x".repeat(32)])
    assert.equal(ok.match(VARIANT)?.[0], ok, ok);
  for (const bad of ["", "x".repeat(33), "a b", "thumb/2", "é", "a\n", "<b>"])
    assert.equal(bad.match(VARIANT)?.[0], undefined, JSON.stringify(bad));
});

test("an order's value and currency come together or not at all", () => {
  assert.deepEqual(price("49.99", "USD"), { value: 49.99, currency: "USD" });
  assert.deepEqual(price("120", "EUR"), { value: 120, currency: "EUR" });
  assert.deepEqual(price("1e3", "JPY"), { value: 1000, currency: "JPY" });
  // Either one missing or invalid: both are left out. A zero value adds nothing to revenue
  // and is left out too, like an empty one.
  for (const [value, currency] of [
    ["49.99", undefined], [undefined, "USD"], ["49.99", "usd"], ["49.99", "US"],
    ["49.99", "USDX"], ["-5", "USD"], ["abc", "USD"], ["", "USD"], ["0", "USD"],
  ])
    assert.deepEqual({ ...price(value, currency) }, {}, `${value} ${currency}`);
});
