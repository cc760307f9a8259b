// A few DOM helpers: build elements, tables, downloads. No framework, so the bundle stays small.
import { sparkPoints } from "./logic.js";

/** An element with attributes (`on*` functions become listeners) and children. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else {
      el.setAttribute(name, value === true ? "" : value);
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG = "http://www.w3.org/2000/svg";

/** A small line of `values` (decorative: the table row holds the numbers). */
export function sparkline(values, label) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", sparkPoints(values, 100, 24));
  svg.append(line);
  return svg;
}

/** Save `text` as a file called `name` (a CSV export). */
export function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A "Download CSV" button; `build()` returns [file name, CSV text] when clicked. */
export function csvButton(name, build) {
  return h("button", { type: "button", class: "csv", "data-focus": `csv-${name}`, "data-csv": name,
    onclick: () => download(...build()) }, "Download CSV");
}

/** A data table: `columns` of {label, cell(row) -> Node|string, num?, wrap?, header?};
 *  `caption`. It scrolls sideways in its own box when narrower than its columns. */
export function table(caption, columns, rows, attrs = {}) {
  const wrap = h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", attrs,
      h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, columns.map((c) =>
        h("th", { scope: "col", class: cellClass(c), "aria-sort": c.sort || null },
          c.header || c.label)))),
      h("tbody", {}, rows.map((row) => h("tr", {}, columns.map((c, i) =>
        h(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, class: cellClass(c) },
          c.cell(row))))))));
  const hint = h("p", { class: "scroll-hint", hidden: true }, "More columns: scroll sideways →");
  // Which edges have more beyond them, as classes the stylesheet fades; and the hint.
  const edges = () => {
    const more = wrap.scrollWidth - wrap.clientWidth;
    wrap.classList.toggle("more-right", more > 1 && wrap.scrollLeft < more - 1);
    wrap.classList.toggle("more-left", more > 1 && wrap.scrollLeft > 1);
    hint.hidden = !(more > 1);
  };
  wrap.addEventListener("scroll", edges, { passive: true });
  new ResizeObserver(edges).observe(wrap);
  return h("div", { class: "table-box" }, hint, wrap);
}

function cellClass(column) {
  return [column.num && "num", column.wrap && "wrap"].filter(Boolean).join(" ") || null;
}
