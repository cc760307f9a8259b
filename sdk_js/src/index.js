// Wiring: when to count (first visible, each bfcache restore) and what each render sends.

import { config } from "./config.js";
import { queue, uid } from "./queue.js";
import { tiles } from "./tiles.js";
import { viewability, visible } from "./viewability.js";
import { CLICK_SURFACES, clicks, notes } from "./navigation.js";

if (!window.gigmetrics) {
  const q = queue(config());
  let started, pageView;

  const found = tiles(
    (el, tile, position) => {
      q.push("served", { ...tile, pv: pageView, position });
      seen.observe(el);
    },
    // A gig's own page: a view, unless a noted click explains this load. Its own page-view id,
    // so a single-page app that shows the same gig again counts again.
    ({ gmPageGig: gig, gmSeller: seller, gmSig: sig }) =>
      notes(gig) || q.push("view", { gig, seller, sig, pv: uid() })
  );

  const seen = viewability((el) => q.push("viewable", found.get(el)));

  // One render: a page view id, fresh impressions for every tile, a view on a gig page.
  const render = () => {
    pageView = uid();
    found.reset();
    seen.reset();
    found.scan();
  };

  const start = () => {
    if (started || document.prerendering || !visible()) return;
    started = 1;
    found.watch();
    clicks((el) => {
      const tile = found.get(el);
      if (!tile) return;
      // Every click is sent and noted (two ctrl-clicks open two pages); the server keeps one
      // click per impression.
      if (CLICK_SURFACES.includes(tile.surface)) notes(tile.gig, 1);
      q.push("click", tile);
      q.flush();
    });
    addEventListener("pageshow", (e) => e.persisted && render());
    render();
  };

  window.gigmetrics = {
    flush: q.flush,
    scan: () => started && found.scan(),
    skipped: q.skipped,
  };

  // A prerendering page or a background tab counts nothing until it is first seen.
  start();
  if (!started) q.skip("hidden");
  document.addEventListener("prerenderingchange", start);
  document.addEventListener("visibilitychange", () => {
    start();
    seen.wake();
    if (!visible()) q.flush();
  });
  // Queued events leave when the page is hidden or left; never on `unload`, which breaks the
  // back/forward cache and does not fire on mobile.
  addEventListener("pagehide", q.flush);
}
