// The dashboard's pure logic (no DOM, no network): ranges, changes, formats, CSV, URL state.
// Tested with node --test (test/dashboard.test.js).

export const RANGES = [7, 30, 90];
export const DEFAULT_RANGE = 30;

// The metrics every card, table and CSV shows, in order; `rate` ones are percentages.
export const METRICS = [
  { key: "servedImpressions", label: "Served", order: "SERVED_IMPRESSIONS",
    help: "Times a tile of the gig was put on a listing page" },
  { key: "viewableImpressions", label: "Viewable", order: "VIEWABLE_IMPRESSIONS",
    help: "Showings someone could see: half the tile on screen for a second" },
  { key: "clicks", label: "Clicks", order: "CLICKS",
    help: "Clicks from search and category listings to the gig page" },
  { key: "views", label: "Views", order: "VIEWS",
    help: "Gig page visits not from such a click" },
  { key: "ctr", label: "CTR", rate: true, order: "CTR", help: "Clicks per 100 served" },
  { key: "viewableCtr", label: "Viewable CTR", rate: true, order: "VIEWABLE_CTR",
    help: "Clicks per 100 viewable" },
  { key: "viewabilityRate", label: "Viewability", rate: true, order: "VIEWABILITY_RATE",
    help: "Viewable per 100 served" },
  { key: "averagePosition", label: "Avg. position", position: true, order: "AVERAGE_POSITION",
    help: "Average place of the tile in its listing (1 = first)" },
];

/** The local calendar date (YYYY-MM-DD) of instant `ms` in IANA zone `tz`. */
export function localDate(ms, tz) {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
  }).formatToParts(new Date(ms));
  const get = (type) => parts.find((p) => p.type === type).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** `iso` (YYYY-MM-DD) moved by `days`. */
export function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Whole days from `from` to `to`, both included. */
export function dayCount(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 864e5) + 1;
}

/** The DateRangeInput asked for: the last `days` local days (today included), or custom. */
export function rangeOf(state, now, tz) {
  if (state.range === "custom" && state.from && state.to) {
    return { from: state.from, to: state.to };
  }
  const days = RANGES.includes(Number(state.range)) ? Number(state.range) : DEFAULT_RANGE;
  const today = localDate(now, tz);
  return { from: addDays(today, 1 - days), to: today };
}

/** Why a custom range cannot be asked, or null when it can; `today` is the zone's today. */
export function rangeProblem(from, to, today = null, maxDays = 400) {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(from || "") || !/^\d{4}-\d{2}-\d{2}$/.test(to || "")) {
    return "Pick both a first and a last day.";
  }
  if (from > to) return "The first day is after the last day: swap them.";
  if (today && to > today) {
    return `The last day, ${to}, has not happened yet: pick today (${today}) or an earlier day.`;
  }
  if (dayCount(from, to) > maxDays) {
    return `That is ${dayCount(from, to)} days: pick at most ${maxDays} (the days this server keeps).`;
  }
  return null;
}

// Zones that browsers still report by an old name (ICU keeps them), and today's names.
export const RENAMED_ZONES = {
  "Asia/Calcutta": "Asia/Kolkata", "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Rangoon": "Asia/Yangon",
  "Asia/Dacca": "Asia/Dhaka", "Asia/Thimbu": "Asia/Thimphu", "Asia/Macao": "Asia/Macau",
  "Asia/Ulan_Bator": "Asia/Ulaanbaatar", "Asia/Ujung_Pandang": "Asia/Makassar",
  "Asia/Ashkhabad": "Asia/Ashgabat",
  "Europe/Kiev": "Europe/Kyiv", "Europe/Uzhgorod": "Europe/Kyiv",
  "Europe/Zaporozhye": "Europe/Kyiv", "America/Godthab": "America/Nuuk",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville", "Pacific/Enderbury": "Pacific/Kanton",
  "Pacific/Truk": "Pacific/Chuuk", "Pacific/Ponape": "Pacific/Pohnpei",
  "Atlantic/Faeroe": "Atlantic/Faroe", "Africa/Asmera": "Africa/Asmara",
};

/** A time zone by its current IANA name ("Asia/Calcutta" → "Asia/Kolkata"). */
export function canonicalZone(tz) {
  return RENAMED_ZONES[tz] || tz;
}

/** Change of one metric against the previous period, for a card.
 *  Counts change in percent, rates in percentage points; `better` says which way is good. */
export function change(metric, now, before) {
  if (before === undefined || before === null) return { text: "no previous period", better: null };
  const a = now[metric.key];
  const b = before[metric.key];
  if (a === null || a === undefined || b === null || b === undefined) {
    return { text: "no comparison", better: null };
  }
  const diff = a - b;
  const lowerIsBetter = Boolean(metric.position);
  const better = diff === 0 ? null : (diff > 0) !== lowerIsBetter;
  if (metric.rate || metric.position) {
    const unit = metric.rate ? " pp" : "";
    return { text: `${signed(diff, 1)}${unit}`, better };
  }
  if (b === 0) return { text: a === 0 ? "±0" : "new", better: a === 0 ? null : true };
  return { text: `${signed((diff / b) * 100, 1)} %`, better };
}

function signed(x, digits) {
  const rounded = Number(x.toFixed(digits));
  if (rounded === 0) return "±0";
  return (rounded > 0 ? "+" : "−") + Math.abs(rounded).toLocaleString("en-US", {
    maximumFractionDigits: digits,
  });
}

/** A value as shown in a card or table cell. */
export function show(metric, value) {
  if (value === null || value === undefined) return "–";
  if (metric.rate) return `${value.toFixed(value >= 10 || value === 0 ? 1 : 2)} %`;
  if (metric.position) return value.toFixed(1);
  return value.toLocaleString("en-US");
}

/** One CSV field (RFC 4180), with spreadsheet formula injection defused. */
export function csvField(value) {
  if (value === null || value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text of a header row and rows (arrays), CRLF line ends. */
export function toCsv(header, rows) {
  return [header, ...rows].map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** Header and rows of metrics objects: `first` columns, every metric, then `extra` keys
 *  (like "orders"), raw values. */
export function metricRows(items, first, extra = []) {
  const keys = [...METRICS.map((m) => m.key), ...extra];
  const header = [...first.map((c) => c.label), ...keys];
  const rows = items.map((item) => [
    ...first.map((c) => item[c.key]),
    ...keys.map((key) => (item[key] === undefined ? null : item[key])),
  ]);
  return { header, rows };
}

// What a gig's orders add to its cards (GigMetrics and its previousPeriod have them; a
// seller's totals do not): orders per 100 visits, visits being clicks and views.
export const ORDER_METRICS = [
  { key: "orders", label: "Orders",
    help: "Orders of the gig, reported by its confirmation page or your backend, each counted once" },
  { key: "conversionRate", label: "Conversion", rate: true,
    help: "Orders per 100 visits (clicks + views) of the gig page" },
];

/** An amount of money in its currency: "$1,234.50", "€80.00", "XZZ 12.00" (a code without a symbol). */
export function money(amount, currency) {
  try {
    return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(amount);
  } catch {
    return `${amount.toLocaleString("en-US", { minimumFractionDigits: 2 })} ${currency}`;
  }
}

// Listing experiments. `significant` comes from the API's always-valid sequential test; the
// words only read it, plus the minimum the server needs before any verdict (per arm).
export const MIN_SERVED = 100;
// A change smaller than this (in %) that is not significant reads as no difference.
export const SAME_WITHIN = 20;

/** The verdict of `row` (a VariantMetrics) against `baseline`, in plain words, and its tone. */
export function verdict(row, baseline) {
  if (row.isBaseline) return { text: "baseline", tone: null };
  if (row.significant && row.ctrChange > 0) {
    return { text: `${row.variant} gets more clicks — this is not chance`, tone: "up" };
  }
  if (row.significant && row.ctrChange < 0) {
    return { text: `${row.variant} gets fewer clicks — this is not chance`, tone: "down" };
  }
  const thin = (arm) => !arm || arm.servedImpressions < MIN_SERVED || arm.clicks === 0;
  if (thin(row) || thin(baseline)) return { text: "too early to tell", tone: null };
  // Not significant is not "the same": a large change that chance could still explain is
  // too early to call, as the server's own wording has it (within ±20 % it is no difference).
  if (row.ctrChange == null || Math.abs(row.ctrChange) > SAME_WITHIN) {
    return { text: "too early to tell", tone: null };
  }
  return { text: "no difference so far", tone: null };
}

/** A variant's CTR change against the baseline, in percent ("+42.0 %"), or a dash. */
export function ctrChangeText(ctrChange) {
  if (ctrChange === null || ctrChange === undefined) return "–";
  return `${signed(ctrChange, 1)}${Number(ctrChange.toFixed(1)) === 0 ? "" : " %"}`;
}

export const DEVICES = { DESKTOP: "Desktop", MOBILE: "Mobile", TABLET: "Tablet", OTHER: "Other" };
const DEVICE_COUNTS = ["servedImpressions", "viewableImpressions", "clicks"];

const percentOf = (part, whole) => (whole > 0 ? (100 * part) / whole : null);

/** Device rows of several gigs (`byDevice` lists) summed per device, rates from the sums,
 *  most served first: a seller's devices are its gigs'. */
export function sumDevices(lists) {
  const sums = new Map();
  for (const row of lists.flat()) {
    const sum = sums.get(row.device) || { device: row.device, servedImpressions: 0,
                                          viewableImpressions: 0, clicks: 0 };
    for (const key of DEVICE_COUNTS) sum[key] += row[key];
    sums.set(row.device, sum);
  }
  return [...sums.values()]
    .map((s) => ({ ...s, ctr: percentOf(s.clicks, s.servedImpressions),
                   viewableCtr: percentOf(s.clicks, s.viewableImpressions),
                   viewabilityRate: percentOf(s.viewableImpressions, s.servedImpressions) }))
    .sort((a, b) => b.servedImpressions - a.servedImpressions
      || Object.keys(DEVICES).indexOf(a.device) - Object.keys(DEVICES).indexOf(b.device));
}

/** A file name for a CSV download. */
export function csvName(parts) {
  return parts.filter(Boolean).join("-").replace(/[^A-Za-z0-9._-]+/g, "_") + ".csv";
}

const HASH_KEYS = ["seller", "gig", "range", "from", "to", "tz", "sort", "baseline"];

/** Dashboard state from the URL hash (#seller=alice&range=7&tz=...). */
export function parseHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const state = {};
  for (const name of HASH_KEYS) {
    const value = params.get(name);
    if (value) state[name] = value;
  }
  return state;
}

/** The URL hash of a state (only what is set). */
export function toHash(state) {
  const params = new URLSearchParams();
  for (const name of HASH_KEYS) {
    if (state[name]) params.set(name, state[name]);
  }
  return `#${params}`;
}

/** Points of a sparkline polyline in a `width` x `height` box. */
export function sparkPoints(values, width, height) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`)
    .join(" ");
}
