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

const DEFAULT_QUERY = `# Put your API key in the Headers tab below, then run this (Ctrl+Enter).
{
  viewer { isAdmin sellers }
  gigMetrics(gigId: "g-101") {
    servedImpressions viewableImpressions clicks views
    ctr viewableCtr viewabilityRate averagePosition
    byContext(first: 5) { context surface servedImpressions clicks ctr }
    previousPeriod { servedImpressions clicks ctr }
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
