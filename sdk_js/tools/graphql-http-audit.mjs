// Runs the graphql-http server audits against a live /graphql URL and prints one JSON line
// per audit: {id, name, status, reason}. Used by tests/api/test_graphql_over_http.py.
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node graphql-http-audit.mjs http://127.0.0.1:PORT/graphql");
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  const result = await audit.fn();
  results.push({
    id: audit.id,
    name: audit.name,
    status: result.status,
    reason: result.status === "ok" ? null : result.reason,
  });
}
console.log(JSON.stringify(results));
