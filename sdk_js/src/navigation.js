// Clicks on tiles, whether a gig page load was one of them, and which click an order follows.
//
// Every click leaves a note in localStorage (gigmetrics_notes): [gig, time, impression, 1 when
// it was on a click surface], kept 7 days, the newest 50.
// - Click vs view: a gig page sends a `view` only when no note of a click-surface click on its
//   gig younger than 30 minutes is left, and uses up (sets to 0) the one it finds. Every load
//   not explained by a note is a view: direct arrivals, other surfaces, reloads, bfcache
//   restores.
// - Orders: an order names the impression of its gig's last click within 7 days; a page load
//   does not use that up.

import { flush, push } from "./queue.js";
import { records } from "./render.js";
import { CLICK_MEMORY_MS, MAX_NOTES, NOTE_MS } from "./limits.js";

// The surfaces whose clicks are `clicks` (the server's default). A regular expression, not a
// list: it repeats the text of the surface check in tiles.js, which gzip finds.
export const CLICK_SURFACES = /^(search|category)$/;

// The notes younger than 7 days, with [gig, now, ...add] added when `add` is given, the newest
// 50; returns gig's last note, or with `view` its last unused click-surface note younger than
// 30 minutes, which is then used up. Reading, updating and writing storage are one function
// (`now` and `localStorage` are all it depends on: the tests give it a plain object): the
// snippet's byte budget paid for no split. When storage is full or disabled nothing is noted
// or found, so a load counts as a view and an order names no impression.
export function notes(gig, add, view, now = Date.now()) {
  try {
    let kept = JSON.parse(localStorage.gigmetrics_notes || "[]").filter((n) => now - n[1] < CLICK_MEMORY_MS);
    add && kept.push([gig, now, ...add]);
    kept = kept.slice(-MAX_NOTES);
    const found = kept.filter((n) => n[0] == gig && (!view || (n[3] && now - n[1] < NOTE_MS))).pop();
    view && found && (found[3] = 0);
    localStorage.gigmetrics_notes = JSON.stringify(kept);
    return found;
  } catch (e) {
    // nothing noted, nothing found
  }
}

// Capture phase, so a page's own handlers (stopPropagation, routers) cannot hide the click;
// nothing is delayed or prevented. auxclick brings the middle button; ctrl/cmd-clicks are
// plain clicks. Every click is sent and noted (two ctrl-clicks open two pages); the server
// keeps one click per impression.
export function clicks() {
  const handle = (e) => {
    const tile = e.button < 2 && records.get(e.target.closest?.("[data-gm-gig]"));
    if (tile) {
      notes(tile.gig, [tile.imp, CLICK_SURFACES.test(tile.surface)]);
      push("click", { ...tile });
      flush();
    }
  };
  // 1 is `true` (capture) to the browser, and 2 bytes shorter once minified (`!0`), as are
  // the other options given as 1.
  addEventListener("click", handle, 1);
  addEventListener("auxclick", handle, 1);
}
