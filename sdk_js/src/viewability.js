// Viewable impressions (MRC display standard): at least half of the tile on screen for one
// continuous second while the tab is visible; tiles of 242,500 px² or more need 30 %.
//
// IntersectionObserver only: no scroll listeners, no layout polling. It reports
// visibility:hidden, opacity:0 and zero-area tiles as intersecting, so when the second is up
// the tile is checked once more with checkVisibility() and for a non-zero area. A tile taller
// than twice the viewport (and under the large-tile size) can never reach 50 % and so never
// becomes viewable here; a click on it still makes its impression viewable on the server.

export const LARGE_AREA = 242500;
const DWELL_MS = 1000;

// The share of the tile that must be on screen.
export const needed = (width, height) => (width * height >= LARGE_AREA ? 0.3 : 0.5);

// Whether an intersection ratio counts as "in view" for a tile of this size; the small slack
// absorbs the observer's rounding at exactly the threshold. (A zero-area tile on screen
// reports a ratio of 1: the area check when the second is up catches it.)
export const inView = (ratio, width, height) => ratio >= needed(width, height) - 1e-4;

export const visible = () => document.visibilityState == "visible";

export function viewability(onViewable) {
  // Tiles in view now -> their running timer (0 while the tab is hidden).
  const timers = new Map();

  const arm = (el) =>
    setTimeout(() => {
      const box = el.getBoundingClientRect();
      const shown = el.checkVisibility?.({ opacityProperty: true, visibilityProperty: true });
      if (shown !== false && box.width * box.height > 0) {
        timers.delete(el);
        observer.unobserve(el);
        onViewable(el);
      }
    }, DWELL_MS);

  const observer = new IntersectionObserver(
    (entries) => {
      for (const { target, intersectionRatio, boundingClientRect: box } of entries) {
        if (inView(intersectionRatio, box.width, box.height)) {
          if (!timers.has(target)) timers.set(target, visible() ? arm(target) : 0);
        } else {
          clearTimeout(timers.get(target)); // it left view: the second starts over
          timers.delete(target);
        }
      }
    },
    { threshold: [0, 0.3, 0.5, 1] }
  );

  // On visibilitychange: a hidden tab stops and resets every timer, a visible one starts
  // them again. Window blur alone changes nothing.
  const wake = () =>
    timers.forEach((timer, el) => {
      clearTimeout(timer);
      timers.set(el, visible() ? arm(el) : 0);
    });

  const reset = () => {
    timers.forEach(clearTimeout);
    timers.clear();
    observer.disconnect();
  };

  return { _observe: (el) => observer.observe(el), _reset: reset, _wake: wake };
}
