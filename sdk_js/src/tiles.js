// Finds gig tiles (and a gig page's own element), numbers tiles per listing and keeps one
// record per element per render. Elements added later (load more, a script that runs before
// the page is parsed, client-side rendering) are found from the mutation records, never by
// rescanning the document.

import { uid } from "./queue.js";

const FIND = "[data-gm-gig],[data-gm-page-gig]";
const SURFACE = /^(search|category|homepage|user_page)$/;

// Listing order, 1-based and continuing across "load more", unless the page gives one.
export function position(counts, list, given) {
  const n = (counts.get(list) || 0) + 1;
  counts.set(list, n);
  return (given |= 0) > 0 ? given : n;
}

// getAttribute, not dataset: the first `el.dataset` of an element builds an object, which
// cost more than the rest of a tile. `?? undefined` keeps absent attributes out of JSON.
const attr = (el, name) => el?.getAttribute(name) ?? undefined;

export function tiles(onTile, onPage) {
  let records, counts;

  const add = (el) => {
    if (records.has(el)) return;
    const page = attr(el, "data-gm-page-gig");
    const seller = attr(el, "data-gm-seller");
    const sig = attr(el, "data-gm-sig");
    if (page) return records.set(el, 0), onPage(page, seller, sig);
    const list = el.closest("[data-gm-list]");
    const surface = attr(list, "data-gm-list");
    // What every event of the tile names. The listing's surface and context ride on each,
    // so the server can check the tile's signature (data-gm-sig) on any of them. Unknown
    // surfaces become "other"; context is capped like the server's.
    const record = {
      gig: attr(el, "data-gm-gig"),
      seller,
      imp: uid(),
      sig,
      surface: SURFACE.test(surface) ? surface : "other",
      context: attr(list, "data-gm-context")?.slice(0, 128),
    };
    records.set(el, record);
    onTile(el, record, position(counts, list, attr(el, "data-gm-position")));
  };

  const scan = (root = document.documentElement) => {
    if (root.matches(FIND)) add(root);
    root.querySelectorAll(FIND).forEach(add);
  };

  const reset = () => {
    records = new WeakMap();
    counts = new Map();
  };

  const watch = () =>
    new MutationObserver((mutations) => {
      for (const m of mutations) for (const node of m.addedNodes) if (node.nodeType == 1) scan(node);
    }).observe(document.documentElement, { childList: true, subtree: true });

  reset();
  // `_` names are the snippet's own: the build shortens them (mangleProps).
  return { _scan: scan, _reset: reset, _watch: watch, _get: (el) => records.get(el) };
}
