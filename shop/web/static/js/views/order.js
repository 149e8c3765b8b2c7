// #/orders/:id — one order; its status follows the order's SSE stream (Created → Dispatched or
// Cancelled) without a reload, and comes back after a network drop with nothing missed. Its
// history (the timeline: who changed it and why, each notification sent) is drawn below and
// drawn again whenever the status changes.

import * as api from "../api.js";
import * as notices from "../notices.js";
import { busy, h, heading, replace } from "../dom.js";
import { failure, formatDate, loading, productImage, setTitle, statusBadge } from "../components.js";
import { formatCents, toCents } from "../money.js";
import { followStatuses } from "../live.js";

export async function orderDetail({ params, main, signal }) {
  setTitle(`Order #${params.id}`);
  replace(main, loading("Loading the order…"));
  let order;
  try {
    ({ data: order } = await api.get(`/api/orders/${encodeURIComponent(params.id)}`, { signal }));
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) return;
    replace(
      main,
      heading(error.status === 404 ? "Order not found" : "Could not load this order"),
      failure(error),
      h("p", {}, h("a", { href: "#/orders" }, "← Your orders")),
    );
    return;
  }

  const statusSlot = h("span", { class: "order-status" }, statusBadge(order.status));
  const updated = h("span", { class: "muted" }, `Updated ${formatDate(order.updated_at)}`);
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const actions = h("div", { class: "order-actions" });
  const history = h("div", {}, loading("Loading the history…"));

  function showStatus(status, updatedAt) {
    if (statusSlot.firstChild?.dataset.status !== status) {
      replace(statusSlot, statusBadge(status));
      announcer.textContent = `Order #${order.id} is now ${status}.`;
    }
    if (order.status !== status) loadHistory();
    order.status = status;
    if (updatedAt) {
      order.updated_at = updatedAt;
      updated.textContent = `Updated ${formatDate(updatedAt)}`;
    }
    drawActions();
  }

  function drawActions() {
    // Only a Created order can be cancelled; the server refuses anything else with 409.
    replace(
      actions,
      order.status === "Created"
        ? h("button", { type: "button", class: "btn btn-danger", onclick: (event) => cancel(event.currentTarget) }, "Cancel order")
        : null,
    );
  }

  async function loadHistory() {
    try {
      const { data } = await api.get(`/api/orders/${order.id}/timeline`, { signal });
      replace(history, h("ol", { class: "timeline" }, data.entries.map(timelineEntry)));
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(history, failure(error, loadHistory));
    }
  }

  async function cancel(button) {
    await busy(button, async () => {
      try {
        const { data } = await api.post(`/api/orders/${order.id}/cancel`, undefined, { signal });
        showStatus(data.status, data.updated_at);
        notices.notify(`Order #${order.id} is cancelled.`);
      } catch (error) {
        if (error.name !== "AbortError" && error.status !== 401) notices.alert(error.message);
      }
    });
  }

  const live = followStatuses(`/api/orders/${order.id}/events`, {
    signal,
    onStatus: ({ id, status, updated_at }) => {
      if (id === order.id) showStatus(status, updated_at);
    },
  });
  drawActions();
  loadHistory();

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/orders" }, "← Orders")),
    h("div", { class: "page-head" }, heading(`Order #${order.id}`), live),
    announcer,
    h("section", { class: "card-surface section order-head", "aria-label": "Status" },
      h("p", { class: "order-status-line" }, "Status: ", statusSlot),
      h("p", { class: "muted" }, `Placed ${formatDate(order.created_at)} · `, updated),
      actions,
    ),
    h("section", { class: "card-surface section", "aria-labelledby": "history-title" },
      h("h2", { id: "history-title" }, "History"),
      history,
    ),
    h("section", { class: "card-surface section", "aria-labelledby": "items-title" },
      h("h2", { id: "items-title" }, "Items"),
      h("div", { class: "table-scroll" }, h("table", { class: "table" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Product"),
          h("th", { scope: "col", class: "num" }, "Quantity"),
          h("th", { scope: "col", class: "num hide-narrow" }, "Unit price"),
          h("th", { scope: "col", class: "num" }, "Line total"),
        )),
        h("tbody", {}, order.items.map((line) => h("tr", {},
          h("td", {}, h("span", { class: "item-cell" }, productImage(line.image, line.name, "mini"), h("a", { href: `#/products/${line.product_id}` }, line.name))),
          h("td", { class: "num" }, String(line.quantity)),
          h("td", { class: "num hide-narrow" }, formatCents(toCents(line.unit_price), order.currency)),
          h("td", { class: "num" }, formatCents(toCents(line.line_total), order.currency)),
        ))),
        h("tfoot", {}, h("tr", {},
          h("th", { scope: "row", colspan: "2" }, "Total"),
          h("td", { class: "hide-narrow" }),
          h("td", { class: "num order-total", "data-cents": String(toCents(order.total)) }, formatCents(toCents(order.total), order.currency)),
        )),
      )),
    ),
  );
}

const ACTORS = { customer: "you or the customer", admin: "an administrator", "order-dispatcher": "the dispatcher", watchdog: "the watchdog", orders: "the shop" };

function timelineEntry(entry) {
  const what = {
    status: () => `${entry.status}: ${entry.cause}`,
    event: () => `${entry.event_type}: ${entry.cause}`,
    delivery: () => `Notified ${entry.target}: ${entry.cause}`,
    watchdog: () => entry.cause,
  }[entry.kind]?.() ?? entry.cause;
  return h("li", { class: `timeline-entry timeline-${entry.kind}`, "data-kind": entry.kind },
    h("span", { class: "muted" }, formatDate(entry.at)), " · ",
    h("span", {}, what), " ",
    h("span", { class: "muted small" }, `(${ACTORS[entry.actor] ?? entry.actor})`),
  );
}
