// Embed settings, read once from the <script> tag, and the one place that says whether
// beacons may leave the page at all.

export function config() {
  const script = document.currentScript;
  const data = script.dataset;
  // data-endpoint may be a host ("https://metrics.example") or a full collector URL.
  const url = new URL(data.endpoint || "/collect", script.src || location);
  if (url.pathname == "/") url.pathname = "/collect";
  return {
    _url: url.href,
    _gpc: "respectGpc" in data,
    _automated: navigator.webdriver, // true, or false / left out
  };
}

// Why beacons must not be sent now ("" when they may): checked at every send, so setting
// the opt-out flag stops events that are already queued too.
export function blocked(settings) {
  try {
    if (localStorage.gigmetrics_ignore == "true") return "opt-out";
  } catch (e) {
    // storage disabled: there is no opt-out flag to read
  }
  return settings._gpc && navigator.globalPrivacyControl ? "gpc" : "";
}
