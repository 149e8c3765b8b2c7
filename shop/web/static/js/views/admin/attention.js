// #/admin/attention — what needs an operator: orders stuck in Created (with the watchdog's
// reason: bus down, target failing, event parked) and events the bus gave up on, which can be
// replayed once the cause is fixed, or discarded.

import * as api from "../../api.js";
import * as notices from "../../notices.js";
import { busy, h, heading, replace } from "../../dom.js";
import { empty, failure, formatDate, loading, setTitle } from "../../components.js";
import { adminNav } from "./nav.js";

export async function adminAttention({ main, signal }) {
  setTitle("Admin · Attention");
  const stuckBody = h("div", {}, loading("Loading stuck orders…"));
  const parkedBody = h("div", {}, loading("Loading parked events…"));
  const refresh = h("button", { type: "button", class: "btn", onclick: () => busy(refresh, load) }, "Refresh");
  replace(
    main,
    h("div", { class: "page-head" }, heading("Administration"), refresh),
    adminNav("#/admin/attention"),
    heading("Stuck orders", 2),
    stuckBody,
    heading("Parked events", 2),
    parkedBody,
  );
  await load();

  async function load() {
    await Promise.all([loadStuck(), loadParked()]);
  }

  async function loadStuck() {
    try {
      const { data } = await api.get("/api/orders/stuck", { signal });
      if (!data.length) {
        replace(stuckBody, empty("No stuck orders. Every order moves on in time."));
        return;
      }
      replace(stuckBody, table("Orders stuck in Created", ["Order", "Placed", "Reason"], data.map((order) =>
        h("tr", { "data-order-id": String(order.order_id) },
          h("td", {}, h("a", { href: `#/orders/${order.order_id}` }, `#${order.order_id}`)),
          h("td", { class: "muted" }, formatDate(order.created_at)),
          h("td", { class: "wrap" }, order.reason),
        ))));
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(stuckBody, failure(error, loadStuck));
    }
  }

  async function loadParked() {
    try {
      const { data } = await api.get("/api/bus/parked", { signal });
      if (!data.length) {
        replace(parkedBody, empty("No parked events. Every event was handled."));
        return;
      }
      replace(parkedBody, table("Parked events", ["Event", "Order", "Error", "Attempts", "Parked", ""], data.map(parkedRow)));
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(parkedBody, failure(error, loadParked));
    }
  }

  function parkedRow(event) {
    const act = (label, method, path, done) => h("button", {
      type: "button",
      class: "btn btn-small",
      "aria-label": `${label} event ${event.id}`,
      onclick: (click) => busy(click.currentTarget, async () => {
        try {
          await method(path, { signal });
          notices.notify(done);
        } catch (error) {
          if (error.name !== "AbortError" && error.status !== 401) notices.alert(error.message);
        }
        await load();
      }),
    }, label);
    return h("tr", { "data-parked-id": event.id },
      h("td", { class: "mono" }, `${event.type} (${event.id})`),
      h("td", {}, event.order_id == null ? "—" : h("a", { href: `#/orders/${event.order_id}` }, `#${event.order_id}`)),
      h("td", { class: "wrap small" }, event.error),
      h("td", { class: "num" }, String(event.attempts)),
      h("td", { class: "muted" }, formatDate(event.parked_at)),
      h("td", {},
        act("Replay", (path, options) => api.post(path, undefined, options), `/api/bus/parked/${event.id}/replay`, `Event ${event.id} was handled.`),
        act("Discard", api.del, `/api/bus/parked/${event.id}`, `Event ${event.id} was discarded.`),
      ),
    );
  }
}

function table(caption, columns, rows) {
  return h("div", { class: "table-wrap" },
    h("table", { class: "table" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, columns.map((column) => h("th", { scope: "col" }, column || h("span", { class: "visually-hidden" }, "Actions"))))),
      h("tbody", {}, rows),
    ),
  );
}
