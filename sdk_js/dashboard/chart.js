// The daily charts (uPlot, bundled): impressions served vs viewable; clicks and CTR.
// Honest by construction: counts start at 0, each day is a whole slot (so the first and last
// bars are whole), the CTR axis has its ticks on the clicks axis' gridlines, and today, not
// over yet, is shaded and labelled. Hovering shows a tooltip with the day's values (the clicks
// chart's also says the day's orders, which are not drawn). What was
// drawn is written to the chart element's data-* attributes, which the browser tests read.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { h } from "./dom.js";
import { alignedScale, dayTicks, zeroScale } from "./scales.js";

const COLORS = { served: "#2457a6", viewable: "#1b8a5a", clicks: "#b4451f", ctr: "#6b3fa0" };
const HEIGHT = 220;
const DAY_S = 86_400;
const HALF_DAY_S = DAY_S / 2;

const dayValue = (date) => Date.parse(`${date}T00:00:00Z`) / 1000;
const dayOf = (seconds) => new Date(seconds * 1000).toISOString().slice(0, 10);
const count = (v) => (v === null || v === undefined ? "–" : v.toLocaleString("en-US"));
const percent = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)} %`);
const tickText = (v) => v.toLocaleString("en-US", { maximumFractionDigits: 2 });

const KINDS = {
  impressions: [
    { key: "servedImpressions", label: "Served", color: COLORS.served, show: count },
    { key: "viewableImpressions", label: "Viewable", color: COLORS.viewable, show: count,
      dash: true },
  ],
  clicks: [
    { key: "clicks", label: "Clicks", color: COLORS.clicks, show: count, bar: true },
    { key: "ctr", label: "CTR", color: COLORS.ctr, show: percent, scale: "pct" },
  ],
};
// Told in the tooltip only, when the daily series has them.
const TIP_ONLY = { impressions: [], clicks: [{ key: "orders", label: "Orders", show: count }] };

/** A chart of `kind` in `el`; `update(daily, today)` redraws it in place (auto-refresh);
 *  `today` is the local date that is not over yet, if the range holds it. */
export function dailyChart(el, kind) {
  const lines = KINDS[kind];
  let plot = null;
  let days = [];
  let today = null;
  let ticks = [];
  let scales = {};
  const tip = h("div", { class: "chart-tip", hidden: true, "aria-hidden": "true" });
  const key = h("ul", { class: "chart-key", "aria-hidden": "true" }, lines.map((l) =>
    h("li", {}, h("span", { class: `swatch${l.bar ? " bar" : ""}${l.dash ? " dash" : ""}`,
                            style: `--c: ${l.color}` }), l.label)));
  const canvas = h("div", { class: "chart-canvas" });
  el.replaceChildren(key, canvas);
  const width = () => Math.max(260, canvas.clientWidth || el.clientWidth || 600);

  // Scales and ticks from the data; uPlot is told them instead of finding its own.
  function plan(daily) {
    days = daily.map((d) => d.date);
    ticks = dayTicks(days, width() - (kind === "clicks" ? 110 : 70));
    const first = lines[0];
    const y = zeroScale(Math.max(0, ...daily.map((d) => d[first.key] || 0),
      ...(lines[1].scale ? [] : daily.map((d) => d[lines[1].key] || 0))));
    scales = { y };
    if (lines[1].scale) {
      scales.pct = alignedScale(Math.max(0, ...daily.map((d) => d.ctr || 0)), y.ticks.length - 1);
    }
  }

  function options() {
    const x = { value: (u, v) => (v === null ? "–" : dayOf(v)) };
    const series = [x, ...lines.map((l) => ({
      label: l.label, stroke: l.color, width: 2, scale: l.scale || "y",
      dash: l.dash ? [6, 3] : undefined,
      fill: l.bar ? "rgba(180,69,31,0.35)" : l.key === "servedImpressions" ? "rgba(36,87,166,0.08)" : undefined,
      paths: l.bar ? uPlot.paths.bars({ size: [0.6, 48], align: 0 }) : undefined,
      points: l.bar ? { show: false } : { show: (u) => days.length <= 45, size: 5 },
    }))];
    const axes = [
      { splits: () => ticks.map((t) => dayValue(t.date)),
        values: () => ticks.map((t) => t.label), grid: { show: false }, size: 36 },
      { scale: "y", label: kind === "impressions" ? "Impressions" : "Clicks", size: 56,
        splits: () => scales.y.ticks, values: (u, s) => s.map(tickText) },
    ];
    if (scales.pct) {
      axes.push({ scale: "pct", side: 1, label: "CTR %", size: 56, grid: { show: false },
                  splits: () => scales.pct.ticks, values: (u, s) => s.map(tickText) });
    }
    return {
      width: width(), height: HEIGHT, series, axes,
      legend: { show: false },
      cursor: { points: { size: 7 }, drag: { x: false, y: false } },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => days.length
          ? [dayValue(days[0]) - HALF_DAY_S, dayValue(days[days.length - 1]) + HALF_DAY_S]
          : [0, DAY_S] },
        y: { range: () => [0, scales.y.max] },
        ...(scales.pct ? { pct: { range: () => [0, scales.pct.max] } } : {}),
      },
      hooks: { drawClear: [shadeToday], draw: [record], setCursor: [showTip] },
    };
  }

  // Today's slot, shaded and labelled: its numbers are only so far.
  function shadeToday(u) {
    if (!today || !days.includes(today)) return;
    const { ctx } = u;
    const left = u.valToPos(dayValue(today) - HALF_DAY_S, "x", true);
    const right = u.valToPos(dayValue(today) + HALF_DAY_S, "x", true);
    const { top, height } = u.bbox;
    ctx.save();
    ctx.fillStyle = "rgba(120,130,150,0.16)";
    ctx.fillRect(left, top, right - left, height);
    ctx.fillStyle = "#4d5668";
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.fillText("today so far", right - 3 * devicePixelRatio, top + 12 * devicePixelRatio);
    ctx.restore();
  }

  function record(u) {
    const at = (scale, values) => values.map((v) => Math.round(u.valToPos(v, scale)));
    Object.assign(el.dataset, {
      days: days.join(","), xMin: String(u.scales.x.min), xMax: String(u.scales.x.max),
      xTicks: ticks.map((t) => t.date).join(","),
      xLabels: ticks.map((t) => t.label).join(","),
      yMin: String(u.scales.y.min), yMax: String(u.scales.y.max),
      yTicks: scales.y.ticks.join(","), yTicksPx: at("y", scales.y.ticks).join(","),
      today: today && days.includes(today) ? today : "",
    });
    if (scales.pct) {
      Object.assign(el.dataset, {
        y2Min: String(u.scales.pct.min), y2Max: String(u.scales.pct.max),
        y2Ticks: scales.pct.ticks.join(","), y2TicksPx: at("pct", scales.pct.ticks).join(","),
      });
    }
  }

  function showTip(u) {
    const i = u.cursor.idx;
    if (i === null || i === undefined || u.cursor.left < 0) {
      tip.hidden = true;
      return;
    }
    const date = days[i];
    tip.replaceChildren(
      h("strong", {}, date, date === today ? " (today so far)" : ""),
      ...lines.map((l, n) => h("span", { class: "row" },
        h("span", { class: "swatch", style: `--c: ${l.color}` }),
        `${l.label}: ${l.show(u.data[n + 1][i])}`)),
      ...TIP_ONLY[kind].filter((l) => lastDaily[i] && l.key in lastDaily[i]).map((l) =>
        h("span", { class: "row", "data-tip": l.key },
          h("span", { class: "swatch none" }), `${l.label}: ${l.show(lastDaily[i][l.key])}`)));
    tip.hidden = false;
    const room = u.over.clientWidth;
    const left = u.cursor.left + 14;
    tip.style.left = `${left + tip.offsetWidth > room ? u.cursor.left - tip.offsetWidth - 14 : left}px`;
    tip.style.top = `${Math.max(0, u.cursor.top - tip.offsetHeight - 8)}px`;
  }

  const resize = new ResizeObserver(() => {
    if (!plot) return;
    const ticksBefore = ticks.length;
    plan(lastDaily);
    if (ticks.length !== ticksBefore) plot.redraw(false, true);
    plot.setSize({ width: width(), height: HEIGHT });
  });
  let lastDaily = [];
  resize.observe(el);

  return {
    update(daily, todayDate = null) {
      lastDaily = daily;
      today = todayDate;
      plan(daily);
      const data = [daily.map((d) => dayValue(d.date)), ...lines.map((l) => daily.map((d) => d[l.key]))];
      if (plot === null) {
        plot = new uPlot(options(), data, canvas);
        plot.over.append(tip);
      } else {
        plot.setData(data);
      }
    },
    destroy() {
      resize.disconnect();
      if (plot) plot.destroy();
      plot = null;
    },
  };
}
