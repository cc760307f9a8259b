// The numbers the SPEC and the server fix, in one module that imports nothing: esbuild
// writes such constants into the code that uses them instead of keeping a variable for each.

// Viewability (MRC display standard): one continuous second; tiles of 242,500 px² or more
// need 30 % on screen instead of 50 %.
export const DWELL_MS = 1000;
export const LARGE_AREA = 242500;

// Click notes: kept 30 minutes, the newest 50.
export const NOTE_MS = 30 * 60 * 1000;
export const MAX_NOTES = 50;

// The last clicks, for orders: kept 7 days (the server's oldest accepted event), the newest 50.
export const CLICK_MEMORY_MS = 7 * 24 * 60 * 60 * 1000;

// Queued events wait at most this long for company.
export const WAIT_MS = 5000;
