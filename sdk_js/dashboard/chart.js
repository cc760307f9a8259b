// The daily charts (uPlot, bundled): impressions served vs viewable; clicks and CTR.
// Hover values show in each chart's legend; every day is a point, zero days are drawn as 0.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

const COLORS = { served: "#2457a6", viewable: "#1b8a5a", clicks: "#b4451f", ctr: "#6b3fa0" };
const HEIGHT = 220;
// Counts are whole: no 0.25-click ticks.
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6, 1e7];

const dayValue = (date) => Date.parse(`${date}T00:00:00Z`) / 1000;
const count = (u, v) => (v === null || v === undefined ? "–" : v.toLocaleString("en-US"));
const percent = (u, v) => (v === null || v === undefined ? "–" : `${v.toFixed(2)} %`);

function options(kind, width) {
  const x = {
    label: "Day",
    value: (u, v) => (v === null ? "–" : new Date(v * 1000).toISOString().slice(0, 10)),
  };
  const axisX = { values: (u, splits) => splits.map((s) =>
    new Date(s * 1000).toISOString().slice(5, 10)) };
  const common = {
    width, height: HEIGHT, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    cursor: { points: { size: 7 } }, legend: { live: true },
    scales: { x: { time: true } },
  };
  if (kind === "impressions") {
    return { ...common, series: [
      x,
      { label: "Served", stroke: COLORS.served, width: 2, fill: "rgba(36,87,166,0.08)",
        value: count },
      { label: "Viewable", stroke: COLORS.viewable, width: 2, dash: [6, 3], value: count },
    ], axes: [axisX, { label: "Impressions", size: 60, incrs: WHOLE }] };
  }
  return { ...common, scales: { ...common.scales, pct: { range: (u, min, max) => [0, Math.max(1, max)] } },
    series: [
      x,
      { label: "Clicks", stroke: COLORS.clicks, width: 2, fill: "rgba(180,69,31,0.12)",
        paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false }, value: count },
      { label: "CTR", stroke: COLORS.ctr, width: 2, scale: "pct", value: percent },
    ],
    axes: [axisX, { label: "Clicks", size: 50, incrs: WHOLE },
           { scale: "pct", side: 1, label: "CTR %", size: 50, grid: { show: false } }] };
}

function data(kind, daily) {
  const xs = daily.map((d) => dayValue(d.date));
  if (kind === "impressions") {
    return [xs, daily.map((d) => d.servedImpressions), daily.map((d) => d.viewableImpressions)];
  }
  return [xs, daily.map((d) => d.clicks), daily.map((d) => d.ctr)];
}

/** A chart of `kind` in `el`; `update(daily)` redraws it in place (auto-refresh). */
export function dailyChart(el, kind) {
  let plot = null;
  const width = () => Math.max(260, el.clientWidth || 600);
  const resize = new ResizeObserver(() => plot && plot.setSize({ width: width(), height: HEIGHT }));
  resize.observe(el);
  return {
    update(daily) {
      if (plot === null) plot = new uPlot(options(kind, width()), data(kind, daily), el);
      else plot.setData(data(kind, daily));
    },
    destroy() {
      resize.disconnect();
      if (plot) plot.destroy();
      plot = null;
    },
  };
}
