// GraphiQL for GET /graphql, bundled from npm at build time: no CDN, works offline.
// It opens with the Authorization header ready to fill in (or filled from the dashboard's
// sign-in of this tab).
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { GraphiQL } from "graphiql";
import "graphiql/style.css";

const KEY_STORAGE = "gigmetrics.apiKey"; // the dashboard's session key, if signed in
const signedIn = sessionStorage.getItem(KEY_STORAGE);
const headers = JSON.stringify({ Authorization: `Bearer ${signedIn || "YOUR_API_KEY"}` }, null, 2);

// The dashboard's "Last 30 days" in this browser's zone, to show how to ask for it.
const day = (ms) => new Date(ms).toLocaleDateString("en-CA");
const today = day(Date.now());
const monthAgo = day(Date.now() - 29 * 864e5);
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

const DEFAULT_QUERY = `# Put your API key in the Headers tab below, then run this (Ctrl+Enter).
# Without a range, gigMetrics covers the rolling last 30 days (30 x 24 hours), so it touches 31
# local days; the dashboard's "Last 30 days" are 30 whole days, today included: for its
# numbers add range: { from: "${monthAgo}", to: "${today}" }, timeZone: "${zone}".
{
  viewer { isAdmin keyName }
  sellers # every seller this key may read (for the admin key: all of them)
  gigMetrics(gigId: "g-101") {
    servedImpressions viewableImpressions clicks views
    ctr viewableCtr viewabilityRate averagePosition
    byContext(first: 5) { context surface servedImpressions clicks ctr }
    previousPeriod { servedImpressions clicks ctr }
    invalidTraffic { reason kind events }
  }
}
`;

async function fetcher(params, options) {
  const response = await fetch(new URL("graphql", document.baseURI), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json",
               ...(options && options.headers) },
    body: JSON.stringify(params),
    credentials: "omit",
  });
  return response.json();
}

createRoot(document.getElementById("graphiql")).render(
  createElement(GraphiQL, {
    fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: headers,
    defaultEditorToolsVisibility: "headers",
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }),
);
