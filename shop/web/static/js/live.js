// Live order statuses for the orders pages: follows an SSE stream of `status` events and shows
// whether the page is live or catching up after a drop.

import { h } from "./dom.js";
import { follow } from "./sse.js";

const LABELS = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Not live",
};

/** The small "● Live" marker; update(state) changes it. */
export function liveIndicator() {
  const text = h("span", { class: "live-text" }, LABELS.connecting);
  const el = h("span", { class: "live live-connecting", title: "Status updates arrive without reloading" }, h("span", { class: "live-dot", "aria-hidden": "true" }), text);
  return {
    el,
    update(state) {
      el.className = `live live-${state}`;
      el.dataset.state = state;
      text.textContent = LABELS[state] ?? state;
    },
  };
}

/**
 * Follow `url` and call onStatus({id, status, updated_at}) for every status event, until
 * `signal` aborts. Returns the indicator element to place on the page.
 */
export function followStatuses(url, { signal, onStatus }) {
  const indicator = liveIndicator();
  follow(url, {
    signal,
    onState: (state) => indicator.update(state),
    onEvent: (event) => {
      if (event.type !== "status") return;
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return; // not ours to show; the next event carries the status again
      }
      if (Number.isInteger(data?.id) && typeof data.status === "string") onStatus(data);
    },
  });
  return indicator.el;
}
