// Finds gig tiles (and a gig page's own element) and sends what a render sends for them: a
// `served` per tile, numbered per listing, and a gig page's `view`. Elements added later (load
// more, a script that runs before the page is parsed, client-side rendering) are found from
// the mutation records, never by rescanning the document.

import { push, uid } from "./queue.js";
import { counts, pageView, records } from "./render.js";
import { observe } from "./viewability.js";
import { notes } from "./navigation.js";

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

const add = (el) => {
  if (records.has(el)) return;
  const page = attr(el, "data-gm-page-gig");
  const seller = attr(el, "data-gm-seller");
  const sig = attr(el, "data-gm-sig");
  if (page) {
    records.set(el, 0);
    // A gig's own page: a view, unless a noted click explains this load. Its own page-view
    // id, so a single-page app that shows the same gig again counts again.
    return notes(page) || push("view", { gig: page, seller, sig, pv: uid() });
  }
  const list = el.closest("[data-gm-list]");
  const surface = attr(list, "data-gm-list");
  // What every event of the tile names. The listing's surface and context ride on each, so
  // the server can check the tile's signature (data-gm-sig) on any of them. Unknown surfaces
  // become "other"; context is capped like the server's.
  const record = {
    gig: attr(el, "data-gm-gig"),
    seller,
    imp: uid(),
    sig,
    surface: SURFACE.test(surface) ? surface : "other",
    context: attr(list, "data-gm-context")?.slice(0, 128),
  };
  records.set(el, record);
  push("served", {
    ...record,
    pv: pageView,
    position: position(counts, list, attr(el, "data-gm-position")),
  });
  observe(el);
};

export const scan = (root = document.documentElement) => {
  if (root.matches(FIND)) add(root);
  root.querySelectorAll(FIND).forEach(add);
};

// Added elements are scanned (text and comment nodes have no `matches`, and no tiles).
export const watch = () =>
  new MutationObserver((mutations) => {
    for (const m of mutations) for (const node of m.addedNodes) if (node.matches) scan(node);
  }).observe(document.documentElement, { childList: true, subtree: true });
