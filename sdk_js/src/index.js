// Wiring: when to count (first visible, each bfcache restore) and what starts a render.

import { configure } from "./config.js";
import { flush, skip, skipped } from "./queue.js";
import { begin } from "./render.js";
import { scan, watch } from "./tiles.js";
import { restart, visible, wake } from "./viewability.js";
import { clicks } from "./navigation.js";

if (!window.gigmetrics) {
  configure();
  let started;

  // One render: a page view id, fresh impressions for every tile, a view on a gig page.
  const render = () => {
    begin();
    restart();
    scan();
  };

  const start = () => {
    if (started || document.prerendering || !visible()) return;
    started = 1;
    watch();
    clicks();
    addEventListener("pageshow", (e) => e.persisted && render());
    render();
  };

  window.gigmetrics = {
    flush,
    scan: () => started && scan(),
    skipped,
  };

  // A prerendering page or a background tab counts nothing until it is first seen.
  start();
  if (!started) skip("hidden");
  document.addEventListener("prerenderingchange", start);
  document.addEventListener("visibilitychange", () => {
    start();
    wake();
    if (!visible()) flush();
  });
  // Queued events leave when the page is hidden or left; never on `unload`, which breaks the
  // back/forward cache and does not fire on mobile.
  addEventListener("pagehide", flush);
}
