// Types of the npm package's module build (dist/gigmetrics.mjs), written by hand for its small API.

export interface InitOptions {
  /**
   * Where beacons go: the gigmetrics server's origin ("https://metrics.example.com", `/collect`
   * is added) or the collector's full URL. A relative URL is resolved against the page.
   * Required: without it nothing is counted and a console warning says so.
   */
  endpoint: string | URL;
  /** Send nothing from browsers that signal Global Privacy Control. */
  respectGpc?: boolean;
}

/**
 * Starts counting on this page: tiles (`data-gm-gig` in a `data-gm-list`), the gig page
 * (`data-gm-page-gig`), clicks and orders (`data-gm-order`). Once per page; later calls, and a
 * `<script src=".../sdk.js">` already running, are left alone. Does nothing outside a browser.
 */
export function init(options: InitOptions): void;

/** Sends what is queued now (events otherwise leave within 5 s, or when the page is hidden). */
export function flush(): void;

/** Looks for new tiles now (added elements are found on their own). */
export function scan(): void;

/** Why events were not sent: reason (`opt-out`, `gpc`, `network`, `hidden`) -> how many. */
export const skipped: Readonly<Record<string, number>>;

/** What the snippet exposes on the page once it runs. */
export interface Gigmetrics {
  flush(): void;
  scan(): void;
  readonly skipped: Readonly<Record<string, number>>;
}

declare global {
  interface Window {
    gigmetrics?: Gigmetrics;
  }
}
