// #/orders — the caller's orders, newest first, with statuses that change live.

import * as api from "../api.js";
import * as session from "../session.js";
import { h, heading, replace } from "../dom.js";
import { empty, failure, formatDate, loading, pager, setTitle, statusBadge } from "../components.js";
import { formatCents, toCents } from "../money.js";
import { followStatuses } from "../live.js";
import { replaceQuery } from "../router.js";

const PAGE_SIZE = 20;

export async function ordersList({ query, main, signal }) {
  setTitle("Orders");
  const isAdmin = session.isAdmin();
  let offset = Math.max(0, Number.parseInt(query.get("offset") ?? "0", 10) || 0);
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  const list = h("div", {}, loading("Loading your orders…"));
  const live = followStatuses("/api/orders/events", {
    signal,
    onStatus: ({ id, status }) => {
      const badge = list.querySelector(`[data-order-id="${id}"] .status`);
      if (!badge || badge.dataset.status === status) return; // the stream starts with the current statuses
      badge.replaceWith(statusBadge(status));
      announcer.textContent = `Order #${id} is now ${status}.`;
    },
  });
  replace(
    main,
    h("div", { class: "page-head" }, heading(isAdmin ? "Orders" : "Your orders"), live),
    announcer,
    list,
  );
  await load();

  async function load() {
    try {
      const { data, headers } = await api.get("/api/orders", { query: { limit: PAGE_SIZE, offset }, signal });
      const total = api.totalCount(headers, data.length);
      if (!data.length && offset === 0) {
        replace(list, empty("You have not ordered anything yet.", h("a", { href: "#/products", class: "btn btn-primary" }, "Start shopping")));
        return;
      }
      replace(
        list,
        h("ul", { class: "order-list", "aria-label": "Orders" }, data.map(row)),
        pager({
          offset,
          limit: PAGE_SIZE,
          total,
          label: "Order pages",
          onPage: (next) => {
            offset = next;
            replaceQuery("/orders", offset ? { offset: String(offset) } : {});
            load();
          },
        }),
      );
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(list, failure(error, load));
    }
  }
}

function row(order) {
  const items = order.items.map((line) => `${line.name} × ${line.quantity}`).join(", ");
  return h(
    "li",
    { class: "order-row card-surface", "data-order-id": String(order.id) },
    h("div", { class: "order-row-main" },
      h("h2", { class: "order-row-title" }, h("a", { href: `#/orders/${order.id}` }, `Order #${order.id}`)),
      h("p", { class: "muted" }, formatDate(order.created_at)),
      h("p", { class: "order-row-items" }, items),
    ),
    h("div", { class: "order-row-side" },
      statusBadge(order.status),
      h("p", { class: "order-row-total" }, formatCents(toCents(order.total), order.currency)),
    ),
  );
}
