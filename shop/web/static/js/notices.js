// The two live regions of index.html: #notice (polite: "Saved", "Logged out") and #alert
// (assertive: errors). Screen readers announce whatever is written into them. A flash is a
// notice that must survive the next navigation ("Order #7 placed" shown on the order page).

import { onNavigate } from "./router.js";

let flashed = null;

function region(id) {
  return document.getElementById(id);
}

function show(id, message) {
  // The regions stay in the page (an empty one takes no room, see .notice:empty): a live
  // region that appears together with its text is often not announced.
  region(id).textContent = message;
}

/** A polite, non-error message. */
export function notify(message) {
  show("alert", "");
  show("notice", message);
}

/** An error the reader must hear now. */
export function alert(message) {
  show("notice", "");
  show("alert", message);
}

export function clear() {
  show("notice", "");
  show("alert", "");
}

/** Show `message` on the next page instead of this one (the reader is about to leave it). */
export function flash(message, kind = "notice") {
  flashed = { message, kind };
}

/** Messages belong to the page they were said on: a new page clears them, except a flash. */
export function install() {
  onNavigate(() => {
    const pending = flashed;
    flashed = null;
    if (pending) (pending.kind === "alert" ? alert : notify)(pending.message);
    else clear();
  });
}
