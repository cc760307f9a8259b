// Embed settings (from the <script> tag or init()), and the one place that says whether
// beacons may leave the page at all.

export let endpoint, respectGpc;

// From a <script> tag, or what init() was given in the shape of one. data-endpoint may be a
// host ("https://metrics.example") or a full collector URL; without it, the script's own
// origin. A bare origin gets the collector's path.
export function configure(script) {
  endpoint = new URL(script.getAttribute("data-endpoint") || "/", script.src);
  if (endpoint.pathname == "/") endpoint.pathname = "/collect";
  respectGpc = script.hasAttribute("data-respect-gpc");
}

// Why beacons must not be sent now (nothing when they may): checked at every send, so setting
// the opt-out flag stops events that are already queued too.
export function blocked() {
  try {
    if (localStorage.gigmetrics_ignore == "true") return "opt-out";
  } catch (e) {
    // storage disabled: there is no opt-out flag to read
  }
  if (respectGpc && navigator.globalPrivacyControl) return "gpc";
}
