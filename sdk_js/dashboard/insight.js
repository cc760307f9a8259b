// A gig's listing experiments and the devices its tiles were shown on (a seller's: its gigs'
// summed). The verdict's words come from logic.js `verdict`, which reads the API's
// `significant` (an always-valid sequential test, safe to look at every day).
import { csvButton, h, table } from "./dom.js";
import {
  ctrChangeText, DEVICES, METRICS, MIN_SERVED, SAME_WITHIN, show, toCsv, verdict,
} from "./logic.js";

const metric = (key) => METRICS.find((m) => m.key === key);
const ORDERS = { key: "orders", label: "Orders" };
const columnsOf = (keys) => keys.map((key) => {
  const m = metric(key) || ORDERS;
  return { label: m.label, num: true, cell: (row) => show(m, row[key]) };
});

const VARIANT_KEYS = ["servedImpressions", "viewableImpressions", "clicks", "ctr",
                      "viewableCtr", "orders"];
const DEVICE_KEYS = ["servedImpressions", "viewableImpressions", "clicks", "ctr",
                     "viewableCtr", "viewabilityRate"];
const EXAMPLE = '<a href="/alice/logo" data-gm-gig="g-123" data-gm-variant="B">…</a>';

/** The experiments of a gig: `pickBaseline(name)` asks again with another baseline;
 *  `csvName(part)` names its download. */
export function experimentsSection(gig, { pickBaseline, csvName }) {
  const rows = gig.variants;
  const baseline = rows.find((r) => r.isBaseline) || null;
  const head = h("div", { class: "section-head" },
    h("h2", { id: "experiments-h" }, "Listing experiments"),
    rows.length ? csvButton("experiments", () => [csvName("experiments"), toCsv(
      ["variant", ...VARIANT_KEYS, "isBaseline", "ctrChange", "significant", "verdict"],
      rows.map((r) => [r.variant, ...VARIANT_KEYS.map((k) => r[k]), r.isBaseline, r.ctrChange,
        r.significant, verdict(r, baseline).text]))]) : null);
  if (!rows.length) {
    return h("section", { id: "experiments", "aria-labelledby": "experiments-h" }, head,
      h("div", { class: "empty" },
        h("p", {}, "No experiment on this gig's tiles yet. To compare two thumbnails, titles or "
          + "prices, render each version of the tile with its name:"),
        h("pre", { class: "wrap" }, h("code", {}, EXAMPLE))));
  }
  const others = rows.filter((r) => !r.isBaseline);
  const columns = [
    { label: "Variant", cell: (r) => [r.variant, r.isBaseline ? " " : null, r.isBaseline
      ? h("span", { class: "tag" }, "baseline") : null] },
    ...columnsOf(VARIANT_KEYS),
    { label: "CTR vs baseline", num: true,
      cell: (r) => (r.isBaseline ? "baseline" : ctrChangeText(r.ctrChange)) },
    { label: "Verdict", cell: (r) => {
      const v = verdict(r, baseline);
      return h("span", { class: `verdict ${v.tone || "flat"}` }, v.text);
    } },
  ];
  return h("section", { id: "experiments", "aria-labelledby": "experiments-h" }, head,
    others.length ? h("ul", { class: "verdicts", "aria-label": "Verdicts" }, others.map((r) => {
      const v = verdict(r, baseline);
      return h("li", { class: `verdict ${v.tone || "flat"}`, "data-variant": r.variant },
        h("strong", {}, `${r.variant} vs ${baseline ? baseline.variant : "baseline"}: `), v.text);
    })) : h("p", { class: "help" }, `Only variant ${rows[0].variant} was shown in this range: `
      + "a second one is needed to compare."),
    rows.length > 1 ? h("label", { class: "field baseline" }, h("span", {}, "Compare against"),
      h("select", { id: "baseline", "data-focus": "baseline",
                    onchange: (e) => pickBaseline(e.target.value) },
      rows.map((r) => h("option", { value: r.variant, selected: r.isBaseline }, r.variant))))
      : null,
    table("Variants of the gig's tile", columns, rows, { id: "variants-table" }),
    h("p", { class: "help" }, "CTR vs baseline is the relative change of the click-through rate. "
      + "“Not chance” comes from a sequential test (mSPRT, always-valid p-values at 5 %) that "
      + "stays honest when you look every day and stop as soon as it looks good. Below "
      + `${MIN_SERVED} served impressions or without a click in either variant it is too early `
      + `to tell; so is a change larger than ±${SAME_WITHIN} % that chance could still explain.`));
}

/** Devices the tiles were shown on; `whose` is "this gig" or "this seller's gigs". */
export function devicesSection(rows, { whose, csvName, partial = false }) {
  const head = h("div", { class: "section-head" },
    h("h2", { id: "devices-h" }, "Devices"),
    rows.length ? csvButton("devices", () => [csvName("devices"), toCsv(
      ["device", ...DEVICE_KEYS], rows.map((r) => [r.device, ...DEVICE_KEYS.map((k) => r[k])]))])
      : null);
  const columns = [{ label: "Device", cell: (r) => DEVICES[r.device] || r.device },
                   ...columnsOf(DEVICE_KEYS)];
  return h("section", { id: "devices", "aria-labelledby": "devices-h" }, head,
    rows.length ? table("Metrics by device", columns, rows, { id: "devices-table" })
      : h("p", { class: "help" }, `No tile of ${whose} was shown in this range.`),
    h("p", { class: "help" }, "The device is that of the browser that showed the tile, from "
      + "its User-Agent." + (partial ? " Summed over the seller's first gigs only." : "")));
}
