// The charts' arithmetic (pure: no DOM, no uPlot): y scales that start at 0 with round steps,
// a second y scale whose ticks fall on the first one's gridlines, and day ticks that stay
// readable from 1 to 400 days. Tested with node --test (test/dashboard.test.js).

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
// Room one day label takes on the x axis ("Mar 10" and its gap), in CSS pixels.
export const LABEL_PX = 64;

/** The smallest round step (1, 2, 2.5, 5 × 10^k) at least `raw`; whole steps only if `whole`. */
export function niceStep(raw, whole = false) {
  if (!(raw > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  for (const f of [1, 2, 2.5, 5, 10]) {
    const step = f * magnitude;
    if (whole && !Number.isInteger(step)) continue;
    if (step >= raw - 1e-9 * magnitude) return whole ? Math.max(1, step) : step;
  }
  return 10 * magnitude;
}

/** A scale from 0 that holds `max` in about `target` round steps: {max, step, ticks}. */
export function zeroScale(max, { target = 4, whole = true } = {}) {
  const top = max > 0 ? max : 1;
  const step = niceStep(top / target, whole);
  const intervals = Math.max(1, Math.ceil(top / step - 1e-9));
  return { max: intervals * step, step, ticks: ticksOf(intervals, step) };
}

/** A scale from 0 that holds `max` with exactly `intervals` round steps, so its ticks sit on
 *  the gridlines of the scale it shares a chart with. */
export function alignedScale(max, intervals) {
  const step = niceStep((max > 0 ? max : 1) / intervals);
  return { max: intervals * step, step, ticks: ticksOf(intervals, step) };
}

function ticksOf(intervals, step) {
  // Rounded, so 0.1 × 3 shows as 0.3.
  return Array.from({ length: intervals + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** "Mar 10". */
export function dayLabel(iso) {
  const [, m, d] = iso.split("-").map(Number);
  return `${MONTHS[m - 1]} ${d}`;
}

/** Which of `dates` (ISO days, oldest first) get a label on an axis `width` px wide, and the
 *  label: every day while they fit, else every 2nd, 7th or 14th day counted back from the
 *  last (so the newest day always has one), else month starts ("Mar"; the year on the first
 *  label and wherever it changes). */
export function dayTicks(dates, width) {
  if (!dates.length) return [];
  const room = Math.max(2, Math.floor(width / LABEL_PX));
  for (const every of [1, 2, 7, 14]) {
    if (Math.ceil(dates.length / every) <= room) {
      return dates.filter((_, i) => (dates.length - 1 - i) % every === 0)
        .map((date) => ({ date, label: dayLabel(date) }));
    }
  }
  const starts = dates.filter((d) => d.endsWith("-01"));
  const months = starts.length ? starts : [dates[0]];
  const every = [1, 2, 3, 6, 12].find((n) => Math.ceil(months.length / n) <= room) || 12;
  let year = null;
  return months.filter((_, i) => i % every === 0).map((date) => {
    const [y, m] = date.split("-").map(Number);
    const label = y === year ? MONTHS[m - 1] : `${MONTHS[m - 1]} ${y}`;
    year = y;
    return { date, label };
  });
}
