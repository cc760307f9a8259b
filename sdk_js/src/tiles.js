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

export function tiles(onTile, onPage) {
  let records, counts;

  const add = (el) => {
    if (records.has(el)) return;
    if (el.dataset.gmPageGig) return records.set(el, 0), onPage(el.dataset);
    const list = el.closest("[data-gm-list]")?.dataset; // one object per element
    const data = el.dataset;
    // What every event of the tile names. The listing's surface and context ride on each,
    // so the server can check the tile's signature (data-gm-sig) on any of them. Unknown
    // surfaces become "other"; context is capped like the server's.
    const record = {
      gig: data.gmGig,
      seller: data.gmSeller,
      imp: uid(),
      sig: data.gmSig,
      surface: SURFACE.test(list?.gmList) ? list.gmList : "other",
      context: list?.gmContext?.slice(0, 128),
    };
    records.set(el, record);
    onTile(el, record, position(counts, list, data.gmPosition));
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
  return { scan, reset, watch, get: (el) => records.get(el) };
}
