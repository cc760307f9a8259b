// The dashboard's only server: the public GraphQL API at /graphql, with the key in a header.

export class ApiError extends Error {
  constructor(message, code, network = false) {
    super(message);
    this.code = code;
    this.network = network;
  }
}

/** Run `query` with `variables` as the holder of `key`; the data, or an ApiError. */
export async function ask(key, query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json",
                 authorization: `Bearer ${key}` },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The gigmetrics server does not answer. Check that it is running "
      + "(scripts/serve) and that this page's address is right; trying again shortly.",
      "NETWORK", true);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The server answered ${response.status} without GraphQL: check that `
      + "/graphql on this host is gigmetrics.", "HTTP", response.status >= 500);
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, (first.extensions || {}).code || "ERROR");
  }
  return body.data;
}

const M = `servedImpressions viewableImpressions clicks views ctr viewableCtr viewabilityRate
  averagePosition`;
const CONTEXT = `context isOther surface servedImpressions viewableImpressions clicks ctr
  viewableCtr viewabilityRate averagePosition orders`;
// Orders are kept per day, surface and context for a seller too; its totals have none.
const REPORT = `${M} window { start end timeZone days }
  daily { date ${M} orders }
  bySurface { surface ${M} orders }
  byContext(first: 25) { ${CONTEXT} }`;
const DEVICE = `device servedImpressions viewableImpressions clicks ctr viewableCtr
  viewabilityRate`;
const VARIANT = `variant servedImpressions viewableImpressions clicks ctr viewableCtr orders
  isBaseline ctrChange significant`;

export const VIEWER = `{ viewer { isAdmin keyName } sellers }`;

export const SELLER = `query Seller($seller: ID!, $range: DateRangeInput, $tz: String,
    $by: GigOrder!, $first: Int!, $after: String) {
  sellerMetrics(sellerId: $seller, range: $range, timeZone: $tz) {
    sellerId gigCount ${REPORT}
    previousPeriod { ${M} }
  }
  topGigs(by: $by, sellerId: $seller, first: $first, after: $after, range: $range,
          timeZone: $tz) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { gigId ${M} daily { date servedImpressions clicks } } }
  }
}`;

export const GIG = `query Gig($gig: ID!, $range: DateRangeInput, $tz: String,
    $baseline: String) {
  gigMetrics(gigId: $gig, range: $range, timeZone: $tz) {
    gigId ${REPORT}
    orders conversionRate revenue { currency amount }
    previousPeriod { ${M} orders conversionRate }
    variants(baseline: $baseline) { ${VARIANT} }
    byDevice { ${DEVICE} }
    invalidTraffic { reason kind events }
  }
}`;

// A seller's invalid traffic and devices are its gigs' (the API keeps them per gig): asked
// page by page and summed.
export const INVALID_PAGE = 100;
export const SELLER_PARTS = `query SellerParts($seller: ID!, $range: DateRangeInput,
    $tz: String, $after: String) {
  topGigs(by: SERVED_IMPRESSIONS, sellerId: $seller, first: ${INVALID_PAGE}, after: $after,
          range: $range, timeZone: $tz) {
    pageInfo { hasNextPage endCursor }
    edges { node { gigId invalidTraffic { reason kind events } byDevice { ${DEVICE} } } }
  }
}`;
