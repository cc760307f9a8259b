// Viewable impressions (MRC display standard): at least half of the tile on screen for one
// continuous second while the tab is visible; tiles of 242,500 px² or more need 30 %.
//
// IntersectionObserver only: no scroll listeners, no layout polling. It reports
// visibility:hidden, opacity:0 and zero-area tiles as intersecting, so when the second is up
// the tile is checked once more with checkVisibility() and for a non-zero area. A tile taller
// than twice the viewport (and under the large-tile size) can never reach 50 % and so never
// becomes viewable here; a click on it still makes its impression viewable on the server.

import { push } from "./queue.js";
import { records } from "./render.js";
import { DWELL_MS, LARGE_AREA } from "./limits.js";

// The share of the tile that must be on screen.


// Whether an intersection ratio counts as "in view" for a tile of this size; the small slack
// absorbs the observer's rounding at exactly the threshold. (A zero-area tile on screen
// reports a ratio of 1: the area check when the second is up catches it.)
export const inView = (ratio, { width, height }) => ratio >= (width * height >= LARGE_AREA ? 0.3 : 0.5) - 1e-4;

export const visible = () => !document.hidden;

// Tiles in view now -> their running timer (false while the tab is hidden).
const timers = new Map();
let observer;

// The second starts now, if the tab is visible.
const arm = (el) =>
  timers.set(
    el,
    visible() &&
      setTimeout(() => {
        const box = el.getBoundingClientRect();
        const shown = el.checkVisibility?.({ opacityProperty: 1, visibilityProperty: 1 });
        if (shown !== false && box.width * box.height > 0) {
          timers.delete(el);
          observer.unobserve(el);
          push("viewable", { ...records.get(el) });
        }
      }, DWELL_MS)
  );

const changed = (entries) => {
  for (const { target, intersectionRatio, boundingClientRect: box } of entries) {
    if (inView(intersectionRatio, box)) {
      if (!timers.has(target)) arm(target);
    } else {
      clearTimeout(timers.get(target)); // it left view: the second starts over
      timers.delete(target);
    }
  }
};

export const observe = (el) => observer.observe(el);

// A new render: the last one's tiles and timers are dropped, one observer takes the new ones.
export const restart = () => {
  timers.forEach(clearTimeout);
  timers.clear();
  observer?.disconnect();
  // Crossing 30 % or 50 % is all that can change whether a tile is in view (the observer also
  // reports every tile once when it starts observing it).
  observer = new IntersectionObserver(changed, { threshold: [0.3, 0.5] });
};

// On visibilitychange: a hidden tab stops and resets every timer, a visible one starts them
// again. Window blur alone changes nothing.
export const wake = () =>
  timers.forEach((timer, el) => {
    clearTimeout(timer);
    arm(el);
  });
