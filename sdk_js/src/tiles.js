// Finds gig tiles (and a gig page's own element, and orders) and sends what a render sends for
// them: a `served` per tile, numbered per listing, a gig page's `view` and an `order`. Elements added later (load
// more, a script that runs before the page is parsed, client-side rendering) are found from
// the mutation records, never by rescanning the document.

import { push, uid } from "./queue.js";
import { counts, pageView, records } from "./render.js";
import { observe } from "./viewability.js";
import { notes } from "./navigation.js";

const FIND = "[data-gm-gig],[data-gm-page-gig],[data-gm-order]";
const SURFACE = /^(search|category|homepage|user_page)$/;

// Listing order, 1-based and continuing across "load more", unless the page gives one.
export function position(counts, list, given) {
  const n = (counts.get(list) || 0) + 1;
  counts.set(list, n);
  return (given |= 0) > 0 ? given : n;
}

// A tile's version in a listing experiment (data-gm-variant): 1–32 of the wire alphabet, or
// left out.
export const VARIANT = /^[\w.:-]{1,32}$/;

// An order's value and currency come together or not at all (spread into the event, `false`
// adds nothing): a number above 0 (a zero adds nothing to revenue) and three capital letters
// (ISO 4217).
export const price = (value, currency) =>
  value > 0 && /^[A-Z]{3}$/.test(currency) && { value: +value, currency };

// getAttribute, not dataset: the first `el.dataset` of an element builds an object, which
// cost more than the rest of a tile. `?? undefined` keeps absent attributes out of JSON.
const attr = (el, name) => el?.getAttribute("data-gm-" + name) ?? undefined;

const add = (el) => {
  if (records.has(el)) return;
  records.set(el, 0);
  const order = attr(el, "order");
  const page = attr(el, "page-gig");
  const seller = attr(el, "seller");
  const sig = attr(el, "sig");
  if (order || page) {
    const gig = attr(el, "order-gig");
    // An order: the marketplace's order id is the event id, so the server counts it once
    // however often it is reported (a reload, the backend too). A gig's own page: a view,
    // unless a noted click explains this load; its own page-view id, so a single-page app
    // that shows the same gig again counts again.
    return order
      ? push("order", {
          gig,
          imp: notes(gig)?.[2],
          ...price(attr(el, "value"), attr(el, "currency")),
        }, order)
      : notes(page, 0, 1) || push("view", { gig: page, seller, sig, pv: uid() });
  }
  const list = el.closest("[data-gm-list]");
  const surface = attr(list, "list");
  // What every event of the tile names. The listing's surface and context ride on each, so
  // the server can check the tile's signature (data-gm-sig) on any of them. Unknown surfaces
  // become "other"; context is capped like the server's.
  const record = {
    gig: attr(el, "gig"),
    seller,
    imp: uid(),
    sig,
    surface: SURFACE.test(surface) ? surface : "other",
    context: attr(list, "context")?.slice(0, 128),
  };
  records.set(el, record);
  push("served", {
    ...record,
    pv: pageView,
    position: position(counts, list, attr(el, "position")),
    // Only the served event names it: the server keeps it with the impression.
    variant: attr(el, "variant")?.match(VARIANT)?.[0],
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
  }).observe(document.documentElement, { childList: 1, subtree: 1 });
