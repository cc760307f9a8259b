// Unit tests of the dashboard's pure logic (dashboard/logic.js): node --test
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  addDays, change, csvField, dayCount, localDate, METRICS, parseHash, rangeOf, rangeProblem,
  show, sparkPoints, toCsv, toHash,
} from "../dashboard/logic.js";

const metric = (key) => METRICS.find((m) => m.key === key);
const NOW = Date.parse("2026-03-10T02:30:00Z");

test("the last N days end today in the chosen time zone", () => {
  assert.deepEqual(rangeOf({}, NOW, "UTC"), { from: "2026-02-09", to: "2026-03-10" });
  assert.deepEqual(rangeOf({ range: "7" }, NOW, "America/New_York"),
                   { from: "2026-03-03", to: "2026-03-09" });
  assert.deepEqual(rangeOf({ range: "90" }, NOW, "Asia/Kolkata").to, "2026-03-10");
  assert.deepEqual(rangeOf({ range: "custom", from: "2026-01-01", to: "2026-01-31" }, NOW, "UTC"),
                   { from: "2026-01-01", to: "2026-01-31" });
});

test("local dates, day arithmetic and day counts", () => {
  assert.equal(localDate(NOW, "Asia/Kathmandu"), "2026-03-10");
  assert.equal(localDate(NOW, "America/Los_Angeles"), "2026-03-09");
  assert.equal(addDays("2026-03-01", -1), "2026-02-28");
  assert.equal(dayCount("2026-03-01", "2026-03-31"), 31);
});

test("a custom range says what is wrong with it", () => {
  assert.equal(rangeProblem("2026-03-02", "2026-03-01"), "The first day is after the last day: swap them.");
  assert.equal(rangeProblem("", "2026-03-01"), "Pick both a first and a last day.");
  assert.equal(rangeProblem("2026-03-01", "2026-03-01"), null);
});

test("changes: counts in percent, rates in points, position lower is better", () => {
  assert.deepEqual(change(metric("clicks"), { clicks: 15 }, { clicks: 10 }), { text: "+50 %", better: true });
  assert.deepEqual(change(metric("clicks"), { clicks: 5 }, { clicks: 0 }), { text: "new", better: true });
  assert.deepEqual(change(metric("ctr"), { ctr: 2.5 }, { ctr: 3.75 }), { text: "−1.3 pp", better: false });
  assert.deepEqual(change(metric("averagePosition"), { averagePosition: 3 }, { averagePosition: 5 }),
                   { text: "−2", better: true });
  assert.equal(change(metric("ctr"), { ctr: null }, { ctr: 1 }).text, "no comparison");
  assert.equal(change(metric("ctr"), { ctr: 1 }, null).text, "no previous period");
});

test("values show nulls as a dash and rates with a percent sign", () => {
  assert.equal(show(metric("ctr"), null), "–");
  assert.equal(show(metric("ctr"), 4.5), "4.50 %");
  assert.equal(show(metric("servedImpressions"), 12345), "12,345");
});

test("CSV quotes what needs it and defuses formulas", () => {
  assert.equal(csvField('say "hi", ok'), '"say ""hi"", ok"');
  assert.equal(csvField("=cmd()"), "'=cmd()");
  assert.equal(csvField(-1.5), "-1.5");
  assert.equal(toCsv(["a", "b"], [[1, null]]), "a,b\r\n1,\r\n");
});

test("the URL hash round-trips the view", () => {
  const state = { seller: "alice", gig: "g-1", range: "custom", from: "2026-01-01", to: "2026-01-02", tz: "Asia/Kolkata" };
  assert.deepEqual(parseHash(toHash(state)), state);
});

test("sparklines fit their box", () => {
  assert.equal(sparkPoints([0, 2, 1], 100, 24), "0.0,23.0 50.0,1.0 100.0,12.0");
});
