// Unit tests of the dashboard's pure logic (dashboard/logic.js): node --test
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  addDays, canonicalZone, change, csvField, dayCount, localDate, METRICS, parseHash, rangeOf,
  rangeProblem, RENAMED_ZONES, show, sparkPoints, toCsv, toHash,
} from "../dashboard/logic.js";
import { alignedScale, dayTicks, LABEL_PX, niceStep, zeroScale } from "../dashboard/scales.js";
import { reasonInfo, REASONS, sumInvalid } from "../dashboard/invalid.js";

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

test("a custom range may not end after today, and says what today is", () => {
  assert.match(rangeProblem("2026-03-01", "2026-03-11", "2026-03-10"), /has not happened yet.*2026-03-10/);
  assert.equal(rangeProblem("2026-03-01", "2026-03-10", "2026-03-10"), null);
  assert.match(rangeProblem("2025-01-01", "2026-03-10", "2026-03-10"), /pick at most 400/);
});

test("zones show by their current names", () => {
  assert.equal(canonicalZone("Asia/Calcutta"), "Asia/Kolkata");
  assert.equal(canonicalZone("Europe/Kiev"), "Europe/Kyiv");
  assert.equal(canonicalZone("Asia/Kolkata"), "Asia/Kolkata");
  assert.equal(canonicalZone("UTC"), "UTC");
  for (const [old, now] of Object.entries(RENAMED_ZONES)) {
    // Both names are zones this runtime knows, and they keep the same time.
    const at = (tz) => new Date(NOW).toLocaleString("en-US", { timeZone: tz });
    assert.equal(at(old), at(now), `${old} → ${now}`);
  }
});

test("y scales start at 0, hold the largest value, and step roundly in whole counts", () => {
  for (const max of [0, 1, 3, 7, 115, 1234, 98765]) {
    const s = zeroScale(max);
    assert.equal(s.ticks[0], 0);
    assert.ok(s.max >= max && s.max === s.ticks.at(-1), `${max}: ${s.max}`);
    assert.ok(Number.isInteger(s.step) && s.ticks.length >= 2 && s.ticks.length <= 6, `${max}: ${s.ticks}`);
  }
  assert.deepEqual(zeroScale(115).ticks, [0, 50, 100, 150]);
  assert.deepEqual(zeroScale(0).ticks, [0, 1]);
});

test("the CTR axis has exactly as many steps as the clicks axis, so gridlines align", () => {
  for (const [clicks, ctr] of [[15, 13.2], [3, 0.4], [0, 0], [250, 100], [7, 2.5]]) {
    const y = zeroScale(clicks);
    const pct = alignedScale(ctr, y.ticks.length - 1);
    assert.equal(pct.ticks.length, y.ticks.length);
    assert.ok(pct.max >= ctr && pct.ticks[0] === 0, `${ctr}: ${pct.ticks}`);
    assert.equal(niceStep(pct.step), pct.step); // a round step
  }
});

test("day ticks stay readable from 1 to 400 days and always label the newest day", () => {
  const days = (n) => Array.from({ length: n }, (_, i) => addDays("2025-11-10", i));
  for (const width of [250, 600, 1200]) {
    for (let n = 1; n <= 400; n += n < 10 ? 1 : 13) {
      const dates = days(n);
      const ticks = dayTicks(dates, width);
      const labels = ticks.map((t) => t.label);
      assert.ok(ticks.length >= 1 && ticks.length <= Math.max(2, Math.floor(width / LABEL_PX)),
                `${n} days at ${width}: ${labels}`);
      assert.equal(new Set(labels).size, labels.length, `${n} days at ${width}: ${labels}`);
      assert.ok(ticks.every((t) => dates.includes(t.date)));
      if (ticks.length > 1 && !labels[0].match(/^[A-Z][a-z]{2}( \d{4})?$/)) {
        assert.equal(ticks.at(-1).date, dates.at(-1)); // day ticks end on the newest day
      }
    }
  }
  assert.deepEqual(dayTicks(days(2), 600).map((t) => t.label), ["Nov 10", "Nov 11"]);
  assert.deepEqual(dayTicks(days(1), 600).map((t) => t.label), ["Nov 10"]);
  assert.deepEqual(dayTicks(days(400), 600).map((t) => t.label).slice(0, 2), ["Dec 2025", "Feb 2026"]);
});

test("invalid traffic of several gigs sums per reason, most first, with kinds", () => {
  const summed = sumInvalid([
    [{ reason: "crawler", kind: "GIVT", events: 3 }, { reason: "replayed", kind: "SIVT", events: 1 }],
    [{ reason: "crawler", kind: "GIVT", events: 2 }, { reason: "declared_automation", kind: "GIVT", events: 316 }],
    [],
  ]);
  assert.deepEqual(summed.rows.map((r) => [r.reason, r.events]),
                   [["declared_automation", 316], ["crawler", 5], ["replayed", 1]]);
  assert.equal(summed.total, 322);
  assert.deepEqual(summed.byKind, { GIVT: 321, SIVT: 1 });
  assert.deepEqual(sumInvalid([]).rows, []);
});

test("every reason the API documents is explained, with what to do", () => {
  const documented = ["crawler", "declared_automation", "over_rate", "too_many_tiles",
    "click_unshown", "unsigned", "bad_signature", "stale_signature", "replayed"];
  assert.deepEqual(Object.keys(REASONS).sort(), [...documented].sort());
  for (const code of documented) {
    assert.ok(REASONS[code].means.length > 20 && REASONS[code].todo.length > 20, code);
  }
  assert.equal(reasonInfo("something_new").label, "something_new");
});
