// Unit tests of the dashboard's pure logic (dashboard/logic.js): node --test
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  addDays, canonicalZone, change, csvField, ctrChangeText, dayCount, localDate, METRICS,
  metricRows, money, ORDER_METRICS, parseHash, rangeOf, rangeProblem, RENAMED_ZONES, show,
  sparkPoints, sumDevices, toCsv, toHash, verdict,
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
  const state = { seller: "alice", gig: "g-1", range: "custom", from: "2026-01-01", to: "2026-01-02",
                  tz: "Asia/Kolkata", baseline: "A" };
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

const arm = (variant, servedImpressions, clicks, more = {}) => ({
  variant, servedImpressions, clicks, isBaseline: false, ctrChange: null, significant: false,
  ...more,
});

test("an experiment's verdict in words reads the API's significance and its direction", () => {
  const a = arm("A", 5000, 100, { isBaseline: true });
  assert.deepEqual(verdict(a, a), { text: "baseline", tone: null });
  assert.deepEqual(verdict(arm("B", 5000, 300, { significant: true, ctrChange: 200 }), a),
                   { text: "B gets more clicks — this is not chance", tone: "up" });
  assert.deepEqual(verdict(arm("B", 5000, 40, { significant: true, ctrChange: -60 }), a),
                   { text: "B gets fewer clicks — this is not chance", tone: "down" });
  assert.equal(verdict(arm("B", 5000, 104, { ctrChange: 4 }), a).text, "no difference so far");
  // Not significant, but a change too large to call "no difference": too early.
  assert.equal(verdict(arm("B", 300, 12, { ctrChange: 273 }), a).text, "too early to tell");
  assert.equal(verdict(arm("B", 5000, 110, { ctrChange: -21 }), a).text, "too early to tell");
});

test("too early to tell: either arm under 100 served or without a click", () => {
  const a = arm("A", 5000, 100, { isBaseline: true });
  assert.equal(verdict(arm("B", 99, 5, { ctrChange: 150 }), a).text, "too early to tell");
  assert.equal(verdict(arm("B", 100, 0, { ctrChange: -100 }), a).text, "too early to tell");
  const thinBase = arm("A", 80, 3, { isBaseline: true });
  assert.equal(verdict(arm("B", 5000, 100), thinBase).text, "too early to tell");
  const noClicks = arm("A", 500, 0, { isBaseline: true });
  assert.equal(verdict(arm("B", 500, 9), noClicks).text, "too early to tell");
  assert.equal(verdict(arm("B", 500, 9), null).text, "too early to tell");
  assert.equal(verdict(arm("B", 100, 1, { ctrChange: 0 }), arm("A", 100, 1, { isBaseline: true })).text,
               "no difference so far");
});

test("CTR changes are signed percents; none is a dash", () => {
  assert.equal(ctrChangeText(42.04), "+42 %");
  assert.equal(ctrChangeText(-12.35), "−12.3 %");
  assert.equal(ctrChangeText(0.01), "±0");
  assert.equal(ctrChangeText(null), "–");
});

test("a seller's devices are its gigs' summed, with rates from the sums", () => {
  const row = (device, served, viewable, clicks) => ({
    device, servedImpressions: served, viewableImpressions: viewable, clicks,
    ctr: 999, viewableCtr: 999, viewabilityRate: 999 });
  const summed = sumDevices([
    [row("DESKTOP", 100, 60, 3), row("MOBILE", 50, 20, 1)],
    [row("MOBILE", 150, 100, 9), row("TABLET", 0, 0, 0)],
    [],
  ]);
  assert.deepEqual(summed.map((d) => d.device), ["MOBILE", "DESKTOP", "TABLET"]);
  assert.deepEqual(summed[0], { device: "MOBILE", servedImpressions: 200, viewableImpressions: 120,
                                clicks: 10, ctr: 5, viewableCtr: 100 / 12, viewabilityRate: 60 });
  assert.deepEqual([summed[2].ctr, summed[2].viewableCtr, summed[2].viewabilityRate],
                   [null, null, null]);
  assert.deepEqual(sumDevices([]), []);
});

test("orders: cards, money per currency and CSV columns", () => {
  const conversion = ORDER_METRICS.find((m) => m.key === "conversionRate");
  assert.equal(show(conversion, 3.125), "3.13 %");
  assert.deepEqual(change(conversion, { conversionRate: 4 }, { conversionRate: 3 }),
                   { text: "+1 pp", better: true });
  assert.equal(money(1234.5, "USD"), "$1,234.50");
  assert.equal(money(80, "EUR"), "€80.00");
  assert.match(money(12, "XZZ"), /^XZZ\s12\.00$/);
  const { header, rows } = metricRows([{ date: "2026-03-01", clicks: 2, orders: 1 }],
                                      [{ key: "date", label: "date" }], ["orders"]);
  assert.equal(header.at(-1), "orders");
  assert.equal(rows[0].at(-1), 1);
  assert.equal(rows[0][header.indexOf("views")], null);
});
