// The package's module build (dist/gigmetrics.mjs), for bundlers and <script type="module">:
// nothing starts until init() names the collector; no <script> tag is read.

import { start } from "./start.js";

export { flush, skipped } from "./queue.js";
// The page's scan (this module's, or a script tag's that started first); nothing before init().
export const scan = () => globalThis.gigmetrics?.scan();

// Starts counting on this page, once (later calls, and a script tag already running, are left
// alone). `endpoint`: a host ("https://metrics.example.com", /collect is added) or the
// collector's URL; relative URLs are resolved against the page.
let called;
export function init({ endpoint, respectGpc } = {}) {
  called = 1;
  if (typeof window == "undefined") return; // imported while rendering on a server
  // The settings in the shape of a script tag's, so both builds read them the same way.
  start(endpoint && {
    getAttribute: () => endpoint,
    hasAttribute: () => respectGpc,
    src: location.href,
  });
}

// Imported but never started: say so (start() without settings warns) once the importing code
// has had its turn.
if (typeof window != "undefined") setTimeout(() => called || window.gigmetrics || start());
