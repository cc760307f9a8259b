// Unit tests of the snippet's pure logic (no DOM): node --test
import { test } from "node:test";
import assert from "node:assert/strict";

import { split, uid } from "../src/queue.js";
import { update, CLICK_SURFACES } from "../src/navigation.js";
import { NOTE_MS, MAX_NOTES, LARGE_AREA } from "../src/limits.js";
import { position } from "../src/tiles.js";
import { needed, inView } from "../src/viewability.js";

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

const look = (notes, gig, now) => update(notes, gig, now);
const add = (notes, gig, now) => update(notes, gig, now, 1)[1];

test("notes older than 30 minutes are dropped", () => {
  const now = 10 * NOTE_MS;
  const notes = [["g-1", now - NOTE_MS - 1], ["g-2", now - NOTE_MS + 1]];
  assert.deepEqual(add(notes, "g-3", now), [["g-2", now - NOTE_MS + 1], ["g-3", now]]);
  assert.deepEqual(look(notes, "g-1", now), [false, [["g-2", now - NOTE_MS + 1]]]);
});

test("at most 50 notes are kept, the newest", () => {
  let notes = [];
  for (let i = 0; i < 60; i++) notes = add(notes, `g-${i}`, 1000 + i);
  assert.equal(notes.length, MAX_NOTES);
  assert.deepEqual(notes[0], ["g-10", 1010]);
  assert.deepEqual(notes.at(-1), ["g-59", 1059]);
  assert.deepEqual(look(notes, "g-5", 2000)[0], false);
});

test("a matching note is found once and used up", () => {
  const now = 5000;
  const notes = [["g-1", 1000], ["g-2", 2000], ["g-1", 3000]];
  const [found, rest] = look(notes, "g-1", now);
  assert.equal(found, true);
  assert.deepEqual(rest, [["g-2", 2000], ["g-1", 3000]]);
  const [again, last] = look(rest, "g-1", now);
  assert.equal(again, true);
  assert.deepEqual(look(last, "g-1", now), [false, [["g-2", 2000]]]);
});

test("adding a note never reports one found", () => {
  assert.deepEqual(update([["g-1", 1]], "g-1", 2, 1), [false, [["g-1", 1], ["g-1", 2]]]);
});

test("an expired note does not explain a load", () => {
  assert.deepEqual(look([["g-1", 0]], "g-1", NOTE_MS), [false, []]);
  assert.deepEqual(look([["g-1", 1]], "g-1", NOTE_MS), [true, []]);
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

test("normal tiles need half their area on screen, large ones 30 %", () => {
  assert.equal(needed(300, 300), 0.5);
  assert.equal(needed(485, 500), 0.3);
  assert.equal(needed(LARGE_AREA, 1), 0.3);
  assert.equal(needed(LARGE_AREA - 1, 1), 0.5);
});

test("in view: the threshold, with a hair of rounding slack", () => {
  assert.equal(inView(0.5, 300, 300), true);
  assert.equal(inView(0.49995, 300, 300), true);
  assert.equal(inView(0.499, 300, 300), false);
  assert.equal(inView(0.4, 300, 300), false);
  assert.equal(inView(0.35, 600, 600), true);
  assert.equal(inView(0.25, 600, 600), false);
  assert.equal(inView(0, 300, 300), false);
});

test("a tile taller than twice the viewport can never be in view", () => {
  const viewport = 720, width = 100, height = 2 * viewport + 2;
  assert.equal(inView(viewport / height, width, height), false);
});
