// Wiring: when to count (first visible, each bfcache restore) and what each render sends.

import { config } from "./config.js";
import { configure, flush, push, skip, skipped, uid } from "./queue.js";
import { tiles } from "./tiles.js";
import { viewability, visible } from "./viewability.js";
import { CLICK_SURFACES, clicks, notes } from "./navigation.js";

if (!window.gigmetrics) {
  configure(config());
  let started, pageView;

  const found = tiles(
    (el, tile, position) => {
      push("served", { ...tile, pv: pageView, position });
      seen._observe(el);
    },
    // A gig's own page: a view, unless a noted click explains this load. Its own page-view id,
    // so a single-page app that shows the same gig again counts again.
    (gig, seller, sig) =>
      notes(gig) || push("view", { gig, seller, sig, pv: uid() })
  );

  const seen = viewability((el) => push("viewable", { ...found._get(el) }));

  // One render: a page view id, fresh impressions for every tile, a view on a gig page.
  const render = () => {
    pageView = uid();
    found._reset();
    seen._reset();
    found._scan();
  };

  const start = () => {
    if (started || document.prerendering || !visible()) return;
    started = 1;
    found._watch();
    clicks((el) => {
      const tile = found._get(el);
      if (!tile) return;
      // Every click is sent and noted (two ctrl-clicks open two pages); the server keeps one
      // click per impression.
      if (CLICK_SURFACES.includes(tile.surface)) notes(tile.gig, 1);
      push("click", { ...tile });
      flush();
    });
    addEventListener("pageshow", (e) => e.persisted && render());
    render();
  };

  window.gigmetrics = {
    flush,
    scan: () => started && found._scan(),
    skipped,
  };

  // A prerendering page or a background tab counts nothing until it is first seen.
  start();
  if (!started) skip("hidden");
  document.addEventListener("prerenderingchange", start);
  document.addEventListener("visibilitychange", () => {
    start();
    seen._wake();
    if (!visible()) flush();
  });
  // Queued events leave when the page is hidden or left; never on `unload`, which breaks the
  // back/forward cache and does not fire on mobile.
  addEventListener("pagehide", flush);
}
