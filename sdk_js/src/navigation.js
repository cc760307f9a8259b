// Clicks on tiles, and whether a gig page load was one of them.
//
// A click on a click surface leaves a note (gig, time) in localStorage; the gig page sends a
// `view` only when it finds no matching note, and consumes the note it finds. Every load not
// explained by a note is a view: direct arrivals, other surfaces, reloads, bfcache restores.

import { flush, push } from "./queue.js";
import { records } from "./render.js";
import { MAX_NOTES, NOTE_MS } from "./limits.js";

// The surfaces whose clicks are `clicks` (the server's default). A regular expression, not a
// list: it repeats the text of the surface check in tiles.js, which gzip finds.
export const CLICK_SURFACES = /^(search|category)$/;

// Pure: note a click on `gig` at `now` (add), or look for one and use it up. Returns [whether
// a note was used up, the notes to keep]: younger than 30 minutes, the newest 50.
export function update(notes, gig, now, add) {
  notes = notes.filter((n) => now - n[1] < NOTE_MS);
  const i = add ? -1 : notes.findIndex((n) => n[0] == gig);
  add ? notes.push([gig, now]) : i < 0 || notes.splice(i, 1);
  return [i >= 0, notes.slice(-MAX_NOTES)];
}

// The same against localStorage. When storage is full or disabled, nothing is noted and a
// load counts as a view.
export function notes(gig, add) {
  try {
    const stored = JSON.parse(localStorage.gigmetrics_notes || "[]");
    const [found, keep] = update(stored, gig, Date.now(), add);
    localStorage.gigmetrics_notes = JSON.stringify(keep);
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
      if (CLICK_SURFACES.test(tile.surface)) notes(tile.gig, 1);
      push("click", { ...tile });
      flush();
    }
  };
  addEventListener("click", handle, true);
  addEventListener("auxclick", handle, true);
}
