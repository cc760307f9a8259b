// The gigmetrics dashboard at GET /dashboard: a client of the public GraphQL API and nothing
// else. The key lives in this tab's sessionStorage (never a cookie); what is shown lives in
// the URL hash, so a reload or a shared link opens the same view.
import { ApiError, ask, GIG, SELLER, SELLER_PARTS, VIEWER } from "./api.js";
import { dailyChart } from "./chart.js";
import { watchGig } from "./live.js";
import { csvButton, h, sparkline, table } from "./dom.js";
import { devicesSection, experimentsSection } from "./insight.js";
import { KINDS, reasonInfo, sumInvalid } from "./invalid.js";
import {
  canonicalZone, change, csvName, DEFAULT_RANGE, localDate, METRICS, metricRows, money,
  ORDER_METRICS, parseHash, rangeOf, rangeProblem, RANGES, RENAMED_ZONES, show, sumDevices,
  toCsv, toHash,
} from "./logic.js";
import "./dashboard.css";

const KEY_STORAGE = "gigmetrics.apiKey";
const REFRESH_MS = 5000;
const PAGE = 10;
// Browsers report some zones by an old name (Chromium: "Asia/Calcutta"): shown by today's.
const BROWSER_TZ = canonicalZone(Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC");
// How many of a seller's gigs the invalid-traffic and device panels sum at most (pages of 100).
const INVALID_MAX_PAGES = 20;
const SURFACES = { SEARCH: "Search", CATEGORY: "Category", HOMEPAGE: "Homepage",
                   USER_PAGE: "Seller profile", OTHER: "Other" };

const app = document.getElementById("app");
let key = sessionStorage.getItem(KEY_STORAGE);
let viewer = null; // { viewer, sellers }
let state = parseHash(location.hash);
let cursors = [null]; // the `after` of each gig page seen, for Previous
let data = null;
let charts = [];
let timer = null;
let loading = 0;
let live = null; // the open subscription of a gig's view (polling pauses while it is open)
let changedWhileLoading = false;
let rangeError = null; // what is wrong with the custom days typed; stays until they change
let apiError = null; // why the last update failed; cleared by the next one that works

const tz = () => canonicalZone(state.tz || BROWSER_TZ);
const sortOrder = () => state.sort || "SERVED_IMPRESSIONS";

// -- flow ----------------------------------------------------------------------------------

async function start() {
  if (!key) return signIn();
  try {
    viewer = await ask(key, VIEWER);
  } catch (error) {
    return error.code === "UNAUTHENTICATED" ? signOut(keyMessage(error.message)) : fatal(error);
  }
  if (!state.seller || !viewer.sellers.includes(state.seller)) {
    state.seller = viewer.sellers[0];
  }
  shell();
  await load();
  timer = setInterval(() => !document.hidden && !loading && !live?.open && load(true),
    REFRESH_MS);
}

function syncLive() {
  const gig = state.gig || null;
  if (live && live.gig === gig && !live.closed) return;
  live?.close();
  live = gig ? watchGig(key, gig, () => {
    if (loading) changedWhileLoading = true;
    else load(true);
  }) : null;
}

function signIn(message) {
  clearInterval(timer);
  live?.close();
  live = null;
  app.replaceChildren(
    h("main", { id: "main", class: "signin" },
      h("h1", {}, "gigmetrics"),
      h("p", {}, "Sign in with an API key to see your gigs' impressions, clicks and views."),
      h("form", { onsubmit: (e) => {
        e.preventDefault();
        const value = e.target.elements.key.value.trim();
        if (!value) return;
        key = value;
        sessionStorage.setItem(KEY_STORAGE, key);
        start();
      } },
      h("label", { for: "key" }, "API key"),
      h("input", { id: "key", name: "key", type: "password", autocomplete: "off",
                   required: true, spellcheck: "false", "aria-describedby": "key-help" }),
      h("button", { type: "submit" }, "Sign in")),
      message ? h("p", { class: "error", role: "alert" }, message) : null,
      h("p", { id: "key-help", class: "help" },
        "The admin key is the server's GIGMETRICS_ADMIN_KEY (scripts/serve uses ",
        h("code", {}, "demo-admin-key"), "). Partner keys come from ",
        h("code", {}, "gigmetrics keys create --seller NAME"),
        ". The key stays in this tab only and is sent as an Authorization header.")));
  document.getElementById("key").focus();
}

// The API's words are for API clients ("send it as the HTTP header…"): say it for a person.
function keyMessage(apiMessage) {
  if (/not known/.test(apiMessage)) {
    return "This server does not know that key. Check that you pasted all of it. The admin key "
      + "is the server's GIGMETRICS_ADMIN_KEY (scripts/serve uses demo-admin-key); a partner "
      + "key is the secret that \"gigmetrics keys create\" printed.";
  }
  if (/required|not a Bearer/.test(apiMessage)) return "Type an API key to sign in.";
  const text = apiMessage.replace(/^the API key/, "The key");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function signOut(message) {
  sessionStorage.removeItem(KEY_STORAGE);
  key = null;
  viewer = null;
  data = null;
  destroyCharts();
  signIn(message);
}

function fatal(error) {
  clearInterval(timer);
  live?.close();
  live = null;
  app.replaceChildren(h("main", { id: "main", class: "signin" },
    h("h1", {}, "gigmetrics"),
    h("p", { class: "error", role: "alert" }, error.message),
    h("button", { type: "button", onclick: () => start() }, "Try again"),
    h("button", { type: "button", class: "quiet", onclick: () => signOut() }, "Sign out")));
}

function go(changes, { keepPage = false } = {}) {
  state = { ...state, ...changes };
  for (const name of Object.keys(state)) if (!state[name]) delete state[name];
  if (!keepPage) cursors = [null];
  history.replaceState(null, "", toHash(state));
  syncControls();
  load();
}

async function load(quiet = false) {
  if (!viewer || !state.seller && !state.gig) return render();
  const range = rangeOf(state, Date.now(), tz());
  const asked = { ...state };
  loading += 1;
  setStatus(quiet ? null : "Loading…");
  try {
    const [result, parts] = state.gig
      ? await ask(key, GIG, { gig: state.gig, range, tz: tz(),
                              baseline: state.baseline || null }).then((r) =>
        [r, { invalid: { ...sumInvalid([r.gigMetrics.invalidTraffic]), gigs: 1, complete: true },
              devices: r.gigMetrics.byDevice, complete: true }])
      : await Promise.all([
        ask(key, SELLER, { seller: state.seller, range, tz: tz(), by: sortOrder(),
                           first: PAGE, after: cursors[cursors.length - 1] }),
        sellerPartsKept(state.seller, range, quiet)]);
    if (toHash(asked) !== toHash(state)) return; // the view changed while this was asked
    data = { ...result, ...parts, range, asked, today: localDate(Date.now(), tz()),
             at: new Date() };
    apiError = null;
    showErrors();
    render();
    syncLive();
    setStatus(`Updated ${new Date().toLocaleTimeString()} · ${live?.open ? "live"
      : `refreshes every ${REFRESH_MS / 1000} s`}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.code === "UNAUTHENTICATED") return signOut(keyMessage(error.message));
    apiError = error.network ? error.message : `The server could not answer this view: ${error.message}`;
    showErrors();
    setStatus(error.network ? "Not updated: the server does not answer" : "Not updated");
  } finally {
    loading -= 1;
    if (changedWhileLoading && !loading) {
      changedWhileLoading = false;
      load(true);
    }
  }
}

// A seller's invalid traffic and devices take a page of gigs per 100: the 5-second refresh
// reuses them for a minute (a gig's view, one query, is always fresh).
const PARTS_REUSE_MS = 60_000;
let partsKept = null; // { view, at, value }

async function sellerPartsKept(seller, range, quiet) {
  const view = JSON.stringify([seller, range, tz()]);
  if (quiet && partsKept && partsKept.view === view
      && Date.now() - partsKept.at < PARTS_REUSE_MS) {
    return partsKept.value;
  }
  const value = await sellerParts(seller, range);
  partsKept = { view, at: Date.now(), value };
  return value;
}

/** A seller's invalid traffic and devices: its gigs' lists, summed (at most
 *  INVALID_MAX_PAGES pages). */
async function sellerParts(seller, range) {
  const invalid = [];
  const devices = [];
  let after = null;
  let complete = false;
  for (let page = 0; page < INVALID_MAX_PAGES && !complete; page += 1) {
    const { topGigs } = await ask(key, SELLER_PARTS, { seller, range, tz: tz(), after });
    invalid.push(...topGigs.edges.map((e) => e.node.invalidTraffic));
    devices.push(...topGigs.edges.map((e) => e.node.byDevice));
    complete = !topGigs.pageInfo.hasNextPage;
    after = topGigs.pageInfo.endCursor;
  }
  return { invalid: { ...sumInvalid(invalid), gigs: invalid.length, complete },
           devices: sumDevices(devices), complete };
}

// -- the page --------------------------------------------------------------------------------

function shell() {
  destroyCharts();
  // Browsers list ICU's names, some of them old ("Asia/Calcutta"): listed by today's.
  const known = Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [];
  const zones = [...new Set([BROWSER_TZ, "UTC",
    ...[...known.map(canonicalZone), ...Object.values(RENAMED_ZONES)].sort()])];
  app.replaceChildren(
    h("header", { class: "top" },
      h("a", { href: "/dashboard", class: "brand" }, "gigmetrics"),
      h("span", { class: "who" }, viewer.viewer.isAdmin ? "Admin key"
        : `Key: ${viewer.viewer.keyName || "partner"}`),
      h("nav", { "aria-label": "Tools" },
        h("a", { href: "/graphql" }, "GraphiQL"),
        h("button", { type: "button", class: "quiet", onclick: () => signOut() }, "Sign out"))),
    h("main", { id: "main" },
      h("form", { class: "controls", "aria-label": "What to show", onsubmit: (e) => e.preventDefault() },
        field("Seller", h("select", { id: "seller", onchange: (e) => go({ seller: e.target.value, gig: null, baseline: null }) },
          viewer.sellers.map((s) => h("option", { value: s }, s)))),
        field("Range", h("select", { id: "range", onchange: (e) => pickRange(e.target.value) },
          RANGES.map((d) => h("option", { value: String(d) }, `Last ${d} days`)),
          h("option", { value: "custom" }, "Custom days"))),
        h("span", { id: "custom", class: "custom" },
          field("From", h("input", { id: "from", type: "date", onchange: customRange })),
          field("To", h("input", { id: "to", type: "date", onchange: customRange }))),
        field("Time zone", h("select", { id: "tz", onchange: (e) => go({ tz: e.target.value === BROWSER_TZ ? null : e.target.value }) },
          zones.map((z) => h("option", { value: z }, z === BROWSER_TZ ? `${z} (this browser)` : z)))),
        h("p", { id: "status", class: "status", role: "status" })),
      h("p", { id: "error", class: "error", role: "alert", hidden: true }),
      h("div", { id: "report" })));
  syncControls();
}

function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

function syncControls() {
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.value = value; };
  set("seller", state.seller || "");
  set("range", state.range || String(DEFAULT_RANGE));
  set("tz", tz());
  const custom = document.getElementById("custom");
  if (custom) {
    custom.hidden = state.range !== "custom";
    const { from, to } = rangeOf(state, Date.now(), tz());
    set("from", from);
    set("to", to);
    const today = localDate(Date.now(), tz()); // the pickers offer no day still to come
    document.getElementById("from").max = today;
    document.getElementById("to").max = today;
  }
}

function pickRange(value) {
  rangeError = null;
  if (value !== "custom") return go({ range: value === String(DEFAULT_RANGE) ? null : value, from: null, to: null });
  const { from, to } = rangeOf(state, Date.now(), tz());
  go({ range: "custom", from, to });
}

function customRange() {
  const from = document.getElementById("from").value;
  const to = document.getElementById("to").value;
  rangeError = rangeProblem(from, to, localDate(Date.now(), tz()));
  showErrors();
  if (!rangeError) go({ range: "custom", from, to });
}

function setStatus(text) {
  const el = document.getElementById("status");
  if (el && text !== null) el.textContent = text;
}

// The custom days' problem and the last update's failure are kept apart, so a refresh that
// works does not wipe what is wrong with the days typed. Numbers from before a failure are
// marked as such.
function showErrors() {
  const el = document.getElementById("error");
  if (!el) return;
  const text = [rangeError && `${rangeError} The numbers below are still for ${shownRange()}.`,
    apiError && data && `${apiError} The numbers below are from ${data.at.toLocaleTimeString()}.`,
    apiError && !data && apiError].filter(Boolean).join(" ");
  el.hidden = !text;
  el.textContent = text;
  document.getElementById("report")?.classList.toggle("stale", Boolean(apiError && data));
}

function shownRange() {
  return data ? `${data.range.from} to ${data.range.to}` : "the days picked before";
}

function destroyCharts() {
  charts.forEach((c) => c.destroy());
  charts = [];
}

// -- the report ------------------------------------------------------------------------------

function render() {
  const report = document.getElementById("report");
  if (!report) return;
  if (!viewer.sellers.length && !state.gig) {
    destroyCharts();
    report.replaceChildren(emptyStore());
    return;
  }
  if (!data) return;
  const focused = document.activeElement && document.activeElement.dataset.focus;
  const gig = data.gigMetrics;
  const subject = gig || data.sellerMetrics;
  const days = subject.daily.length;
  const title = gig ? `Gig ${gig.gigId}` : `Seller ${subject.sellerId}`;
  const partial = data.range.to === data.today;
  const period = `${data.range.from} to ${data.range.to} (${days} days in `
    + `${canonicalZone(subject.window.timeZone)}${partial ? "; today is not over" : ""})`;
  const sections = [
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      gig ? [h("a", { href: toHash({ ...state, gig: null, baseline: null }), "data-focus": "back",
                      onclick: (e) => { e.preventDefault(); go({ gig: null, baseline: null }); } },
        `Seller ${state.seller}`), " › "] : null,
      h("h1", {}, title)),
    h("p", { class: "period" }, period),
    subject.servedImpressions === 0 && subject.views === 0 ? emptyRange(gig) : null,
    cards(subject),
    h("p", { class: "help note", id: "range-note" },
      partial ? `Today is not over: its numbers so far are in the totals and marked in the charts, `
        + `so changes against the ${days} whole days before run low until the day ends. ` : "",
      "Days here are whole local days. The API without a range (GraphiQL's first query) "
        + "covers the rolling last 30 × 24 hours instead, which touches 31 days, so its totals "
        + "differ a little; ask it with range and timeZone for these numbers."),
    chartsSection(subject, title),
    gig ? experimentsSection(gig, { csvName: partCsvName,
      pickBaseline: (name) => go({ baseline: name }, { keepPage: true }) }) : null,
    surfacesSection(subject, title),
    contextsSection(subject, title),
    devicesSection(data.devices, { whose: gig ? "this gig" : "this seller's gigs",
                                   csvName: partCsvName, partial: !data.complete }),
    invalidSection(data.invalid, gig),
    gig ? null : gigsSection(data.topGigs, title),
  ];
  const report2 = document.getElementById("report");
  const keepCharts = report2.querySelector("#charts");
  report2.replaceChildren(...sections.filter(Boolean));
  if (keepCharts && charts.length) {
    report2.querySelector("#charts").replaceWith(keepCharts);
  } else {
    destroyCharts();
    charts = [dailyChart(document.getElementById("chart-impressions"), "impressions"),
              dailyChart(document.getElementById("chart-clicks"), "clicks")];
  }
  charts.forEach((c) => c.update(subject.daily, partial ? data.today : null));
  document.getElementById("report").classList.toggle("stale", false);
  const dailyTable = document.getElementById("daily-table");
  if (dailyTable) dailyTable.replaceChildren(dailyRows(subject));
  if (focused) {
    const again = app.querySelector(`[data-focus="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}

function invalidSection(invalid, gig) {
  const whose = gig ? "this gig" : "this seller's gigs";
  const head = h("div", { class: "section-head" },
    h("h2", { id: "invalid-h" }, "Invalid traffic (kept, never counted)"),
    invalid.rows.length ? csvButton("invalid", () => {
      const rows = data.invalid.rows.map((r) => [r.reason, r.kind, r.events]);
      return [csvName([currentTitle(), "invalid", data.range.from, data.range.to]),
        toCsv(["reason", "kind", "events"], rows)];
    }) : null);
  const why = h("p", { class: "help" }, "Events from crawlers, automated browsers and the like "
    + "are stored but left out of every number above. The page that sent them is told they "
    + "were accepted (a bot is not told it was caught), so this is where you see them.");
  if (!invalid.rows.length) {
    return h("section", { id: "invalid", "aria-labelledby": "invalid-h" }, head,
      h("p", { class: "invalid-none" }, `No invalid traffic for ${whose} in this range.`), why);
  }
  const kinds = Object.entries(invalid.byKind).filter(([, n]) => n > 0);
  return h("section", { id: "invalid", "aria-labelledby": "invalid-h" }, head,
    h("p", { class: "invalid-total" },
      h("strong", { "data-total": invalid.total }, `${invalid.total.toLocaleString("en-US")} events`),
      ` of ${whose} were not counted: `,
      kinds.map(([kind, n], i) => [i ? ", " : "",
        h("abbr", { title: KINDS[kind] }, kind), ` ${n.toLocaleString("en-US")}`]),
      invalid.complete ? "." : ` (the first ${invalid.gigs.toLocaleString("en-US")} gigs only).`),
    h("ul", { id: "invalid-list", class: "invalid-list", "aria-label": "Invalid traffic by reason" },
      invalid.rows.map((r) => {
        const info = reasonInfo(r.reason);
        return h("li", { "data-reason": r.reason, "data-kind": r.kind, "data-events": r.events },
          h("p", { class: "invalid-head" },
            h("strong", {}, info.label), " ", h("code", {}, r.reason), " · ",
            h("abbr", { title: KINDS[r.kind] || "" }, r.kind),
            h("span", { class: "invalid-events" }, `${r.events.toLocaleString("en-US")} events`)),
          h("p", {}, h("span", { class: "sr-only" }, "What it means: "), info.means),
          h("p", { class: "todo" }, h("span", { class: "todo-label" }, "What to do: "), info.todo));
      })),
    why);
}

function cards(subject) {
  const previous = subject.previousPeriod;
  // A gig's orders, conversion and revenue too (a seller's totals have none).
  const shown = subject.orders === undefined ? METRICS : [...METRICS, ...ORDER_METRICS];
  return h("section", { "aria-labelledby": "kpi-h" },
    h("h2", { id: "kpi-h", class: "sr-only" }, "Totals"),
    h("ul", { class: "cards" }, shown.map((m) => {
      const delta = change(m, subject, previous);
      const tone = delta.better === null ? "flat" : delta.better ? "up" : "down";
      return h("li", { class: "card", "data-metric": m.key, title: m.help },
        h("span", { class: "label" }, m.label),
        h("span", { class: "value" }, show(m, subject[m.key])),
        h("span", { class: `delta ${tone}` },
          h("span", { class: "sr-only" }, "Change against the previous period: "),
          delta.text, delta.better !== null || /\d/.test(delta.text)
            ? h("span", { class: "vs" }, " vs previous") : null));
    }), subject.revenue ? revenueCard(subject.revenue) : null));
}

function revenueCard(revenue) {
  return h("li", { class: "card revenue", "data-metric": "revenue",
                   title: "Value of the orders that carried one, per currency (never converted)" },
    h("span", { class: "label" }, "Revenue"),
    revenue.length ? revenue.map((r) => h("span", { class: "value", "data-currency": r.currency },
      money(r.amount, r.currency))) : h("span", { class: "value" }, "–"),
    h("span", { class: "delta flat" }, revenue.length > 1 ? "per currency" : "in this range"));
}

function partCsvName(part) {
  return csvName([currentTitle(), part, data.range.from, data.range.to]);
}

function chartsSection(subject, title) {
  return h("section", { id: "charts", "aria-labelledby": "daily-h" },
    h("div", { class: "section-head" },
      h("h2", { id: "daily-h" }, "Daily"),
      csvButton("daily", () => {
        const { header, rows } = metricRows(currentSubject().daily, [{ key: "date", label: "date" }],
          ["orders"]);
        return [csvName([currentTitle(), "daily", data.range.from, data.range.to]), toCsv(header, rows)];
      })),
    h("div", { class: "charts" },
      h("figure", {},
        h("figcaption", {}, "Impressions: served and viewable"),
        h("div", { id: "chart-impressions", class: "chart", role: "img",
                   "aria-label": "Daily served and viewable impressions; the numbers are in the daily table below" })),
      h("figure", {},
        h("figcaption", {}, "Clicks and CTR"),
        h("div", { id: "chart-clicks", class: "chart", role: "img",
                   "aria-label": "Daily clicks and click-through rate; the numbers are in the daily table below" }))),
    h("details", { class: "daily-details" },
      h("summary", {}, "Daily numbers"),
      h("div", { id: "daily-table" }, dailyRows(subject))));
}

function currentSubject() {
  return data.gigMetrics || data.sellerMetrics;
}

function currentTitle() {
  return data.gigMetrics ? `gig-${data.gigMetrics.gigId}` : `seller-${data.sellerMetrics.sellerId}`;
}

const ORDERS_COLUMN = { label: "Orders", num: true, cell: (row) => show({}, row.orders) };

function dailyRows(subject) {
  return table("Daily numbers", [
    { label: "Day", cell: (d) => d.date },
    ...metricColumns(),
    ORDERS_COLUMN,
  ], subject.daily);
}

function metricColumns(sortable = false) {
  return METRICS.map((m) => ({
    label: m.label, num: true, cell: (row) => show(m, row[m.key]),
    sort: sortable && sortOrder() === m.order ? (m.position ? "ascending" : "descending") : null,
    header: sortable ? h("button", { type: "button", class: "sort", "data-focus": `sort-${m.order}`,
      title: m.position ? "Sort best first" : "Sort largest first",
      onclick: () => go({ sort: m.order === "SERVED_IMPRESSIONS" ? null : m.order }) }, m.label) : null,
  }));
}

function surfacesSection(subject, title) {
  const rows = subject.bySurface;
  return h("section", { "aria-labelledby": "surfaces-h" },
    h("div", { class: "section-head" },
      h("h2", { id: "surfaces-h" }, "Where it was shown"),
      csvButton("surfaces", () => {
        const { header, rows: lines } = metricRows(currentSubject().bySurface,
          [{ key: "surface", label: "surface" }], ["orders"]);
        return [csvName([currentTitle(), "surfaces", data.range.from, data.range.to]), toCsv(header, lines)];
      })),
    table("Metrics by surface", [
      { label: "Surface", cell: (s) => SURFACES[s.surface] || s.surface },
      ...metricColumns(),
      ORDERS_COLUMN,
    ], rows, { id: "surfaces-table" }),
    h("p", { class: "help" }, "Clicks here count every click made on the surface; only search and category clicks are in the Clicks total."));
}

function contextsSection(subject, title) {
  const rows = subject.byContext;
  const contextLabel = (c) => (c.isOther ? "(other contexts)" : c.context);
  const columns = [
    { label: "Search or category", cell: contextLabel },
    { label: "Surface", cell: (c) => SURFACES[c.surface] || c.surface },
    ...metricColumns().filter((c) => c.label !== "Views"),
    ORDERS_COLUMN,
  ];
  return h("section", { "aria-labelledby": "contexts-h" },
    h("div", { class: "section-head" },
      h("h2", { id: "contexts-h" }, "Top searches and categories"),
      csvButton("contexts", () => {
        const items = currentSubject().byContext.map((c) => ({ ...c, context: contextLabel(c), views: undefined }));
        const { header, rows: lines } = metricRows(items, [
          { key: "context", label: "context" }, { key: "surface", label: "surface" }], ["orders"]);
        const keep = header.map((name, i) => (name === "views" ? -1 : i)).filter((i) => i >= 0);
        return [csvName([currentTitle(), "contexts", data.range.from, data.range.to]),
          toCsv(keep.map((i) => header[i]), lines.map((l) => keep.map((i) => l[i])))];
      })),
    rows.length ? table("Top searches and categories", columns, rows, { id: "contexts-table" })
      : h("div", { class: "empty" },
        h("p", {}, "No search or category listing showed this yet. Name the listing's query or category on its container:"),
        h("pre", {}, h("code", {}, '<section data-gm-list="search" data-gm-context="logo design">…</section>'))));
}

function gigsSection(top, title) {
  const page = cursors.length;
  const firstRow = (page - 1) * PAGE + 1;
  const columns = [
    { label: "Gig", cell: (g) => h("a", { href: toHash({ ...state, gig: g.gigId, baseline: null }), "data-focus": `gig-${g.gigId}`,
      onclick: (e) => { e.preventDefault(); go({ gig: g.gigId, baseline: null }); } }, g.gigId) },
    ...metricColumns(true),
    { label: "Trend", cell: (g) => sparkline(g.daily.map((d) => d.servedImpressions),
      `Served per day, ${g.daily.length} days, peak ${Math.max(0, ...g.daily.map((d) => d.servedImpressions))}`) },
  ];
  const gigs = top.edges.map((e) => e.node);
  return h("section", { "aria-labelledby": "gigs-h" },
    h("div", { class: "section-head" },
      h("h2", { id: "gigs-h" }, "Gigs"),
      csvButton("gigs", () => {
        const { header, rows } = metricRows(data.topGigs.edges.map((e) => e.node), [{ key: "gigId", label: "gig" }]);
        return [csvName([currentTitle(), "gigs", `page${cursors.length}`, data.range.from, data.range.to]), toCsv(header, rows)];
      })),
    gigs.length ? table("Gigs of this seller", columns, gigs, { id: "gigs-table" })
      : h("div", { class: "empty" }, h("p", {}, "No gigs of this seller yet.")),
    h("nav", { class: "pager", "aria-label": "Gig pages" },
      h("button", { type: "button", "data-focus": "prev", disabled: page === 1,
                    onclick: () => { cursors.pop(); load(); } }, "Previous"),
      h("span", {}, gigs.length ? `Gigs ${firstRow}–${firstRow + gigs.length - 1} of ${top.totalCount}` : ""),
      h("button", { type: "button", "data-focus": "next", disabled: !top.pageInfo.hasNextPage,
                    onclick: () => { cursors.push(top.pageInfo.endCursor); load(); } }, "Next")));
}

const SNIPPET = (origin) => `<script src="${origin}/sdk.js" defer></script>
<section data-gm-list="search" data-gm-context="logo design">
  <a href="/alice/logo" data-gm-gig="g-123" data-gm-seller="alice">…</a>
</section>
<main data-gm-page-gig="g-123" data-gm-seller="alice">…</main>`;

function emptyStore() {
  return h("div", { class: "empty" },
    h("h1", {}, "No data yet"),
    h("p", {}, "Nothing has been counted for a seller this key may read. Put the snippet on your listing and gig pages, naming each gig's seller:"),
    h("pre", {}, h("code", {}, SNIPPET(location.origin))),
    h("p", {}, "Open a page with tiles, scroll, click: the numbers show up here within seconds."));
}

function emptyRange(gig) {
  return h("div", { class: "empty", role: "note" },
    h("p", {}, `No impressions or views ${gig ? "of this gig" : "for this seller"} in this range. Pick a longer range, or check that your pages carry the snippet and name the seller:`),
    h("pre", {}, h("code", {}, SNIPPET(location.origin))));
}

addEventListener("hashchange", () => {
  state = parseHash(location.hash);
  cursors = [null];
  if (viewer) { syncControls(); load(); }
});

start();
