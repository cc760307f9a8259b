// Wiring: when to count (first visible, each bfcache restore) and what starts a render. Both
// builds end here: the script tag (index.js) and the package's init() (module.js).

import { configure } from "./config.js";
import { flush, skip, skipped } from "./queue.js";
import { begin } from "./render.js";
import { scan, watch } from "./tiles.js";
import { restart, visible, wake } from "./viewability.js";
import { clicks } from "./navigation.js";

let started;

// `script`: the snippet's <script> tag, or init()'s settings in the shape of one. Without it
// nothing starts and the console says why: loaded as a module, the snippet has no <script>
// tag of its own (document.currentScript is null) to take an endpoint from, and the page's
// own origin is not the collector.
export function start(script) {
  if (window.gigmetrics || !script)
    return script || console.warn("gigmetrics: call init({endpoint})");
  configure(script);

  // One render: a page view id, fresh impressions for every tile, a view on a gig page.
  const render = () => {
    begin();
    restart();
    scan();
  };

  const first = () => {
    if (started || document.prerendering || !visible()) return;
    started = 1;
    watch();
    clicks();
    addEventListener("pageshow", (e) => e.persisted && render());
    render();
  };

  // scan(): nothing before the page is first seen.
  window.gigmetrics = { flush, scan: () => started && scan(), skipped };

  // A prerendering page or a background tab counts nothing until it is first seen.
  first();
  if (!started) skip("hidden");
  document.addEventListener("prerenderingchange", first);
  document.addEventListener("visibilitychange", () => {
    first();
    wake();
    if (!visible()) flush();
  });
  // Queued events leave when the page is hidden or left; never on `unload`, which breaks the
  // back/forward cache and does not fire on mobile.
  addEventListener("pagehide", flush);
}
