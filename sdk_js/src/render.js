// One render of the page: its page-view id and what it showed. The first render starts when
// the page is first visible, and every bfcache restore starts another, in which every tile is
// served again with a fresh impression id.

import { uid } from "./queue.js";

// The page-view id; tile (or gig page) element -> its record (0 for a gig page's element);
// listing element -> how many tiles it has shown.
export let pageView, records, counts;

export const begin = () => {
  pageView = uid();
  records = new WeakMap();
  counts = new Map();
};
