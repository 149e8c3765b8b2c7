// #/admin/deliveries?status=failed — the dispatcher's webhook deliveries. A failed one is not
// lost: it waits here until an administrator retries it (POST …/retry answers 202 and the
// dispatcher tries again right away).

import * as api from "../../api.js";
import * as notices from "../../notices.js";
import { busy, field, h, heading, replace } from "../../dom.js";
import { empty, failure, formatDate, loading, pager, setTitle } from "../../components.js";
import { replaceQuery } from "../../router.js";
import { adminNav } from "./nav.js";

const PAGE_SIZE = 50;
const FILTERS = [
  ["failed", "Failed"],
  ["pending", "Pending"],
  ["delivered", "Delivered"],
  ["", "All"],
];

export async function adminDeliveries({ query, main, signal }) {
  setTitle("Admin · Deliveries");
  const wanted = query.get("status");
  const state = {
    status: FILTERS.some(([value]) => value === wanted) ? wanted : "failed",
    offset: 0,
  };
  const filter = h("select", { name: "status" }, FILTERS.map(([value, label]) => h("option", { value, selected: value === state.status }, label)));
  filter.addEventListener("change", () => {
    state.status = filter.value;
    state.offset = 0;
    replaceQuery("/admin/deliveries", { status: state.status });
    load();
  });
  const body = h("div", {}, loading("Loading deliveries…"));
  const refresh = h("button", { type: "button", class: "btn", onclick: () => busy(refresh, load) }, "Refresh");
  replace(
    main,
    h("div", { class: "page-head" }, heading("Administration"), refresh),
    adminNav("#/admin/deliveries"),
    h("div", { class: "inline-form" }, field("Show", filter)),
    body,
  );
  await load();

  async function load() {
    try {
      const { data, headers } = await api.get("/api/dispatcher/deliveries", {
        query: { status: state.status, limit: PAGE_SIZE, offset: state.offset },
        signal,
      });
      const total = api.totalCount(headers, data.length);
      if (!data.length) {
        replace(body, empty(state.status === "failed" ? "No failed deliveries. Every notification went through." : "No deliveries to show."));
        return;
      }
      replace(
        body,
        h("div", { class: "table-wrap" },
          h("table", { class: "table" },
            h("caption", { class: "visually-hidden" }, "Webhook deliveries"),
            h("thead", {}, h("tr", {},
              h("th", { scope: "col" }, "Delivery"),
              h("th", { scope: "col" }, "Order"),
              h("th", { scope: "col" }, "Target"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col", class: "num" }, "Attempts"),
              h("th", { scope: "col" }, "Last error"),
              h("th", { scope: "col" }, "Updated"),
              h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
            )),
            h("tbody", {}, data.map(row)),
          ),
        ),
        pager({ offset: state.offset, limit: PAGE_SIZE, total, label: "Delivery pages", onPage: (next) => { state.offset = next; load(); } }),
      );
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(body, failure(error, load));
    }
  }

  function row(delivery) {
    const kind = { delivered: "dispatched", failed: "cancelled", pending: "created" }[delivery.status] ?? "created";
    const retry = delivery.status === "delivered"
      ? null
      : h("button", {
          type: "button",
          class: "btn btn-small",
          "aria-label": `Retry delivery ${delivery.id} to ${delivery.target}`,
          onclick: (event) => retryDelivery(event.currentTarget, delivery),
        }, "Retry");
    return h("tr", { "data-delivery-id": String(delivery.id) },
      h("td", { class: "mono" }, `#${delivery.id}`),
      h("td", {}, h("a", { href: `#/orders/${delivery.order_id}` }, `#${delivery.order_id}`)),
      h("td", { class: "mono wrap" }, delivery.target),
      h("td", {}, h("span", { class: `status status-${kind}` }, delivery.status)),
      h("td", { class: "num" }, String(delivery.attempts)),
      h("td", { class: "wrap small" }, delivery.last_error || "—"),
      h("td", { class: "muted" }, formatDate(delivery.updated_at)),
      h("td", {}, retry),
    );
  }

  async function retryDelivery(button, delivery) {
    await busy(button, async () => {
      try {
        await api.post(`/api/dispatcher/deliveries/${delivery.id}/retry`, undefined, { signal });
        notices.notify(`Delivery #${delivery.id} is being retried.`);
        await load();
      } catch (error) {
        if (error.name !== "AbortError" && error.status !== 401) notices.alert(error.message);
      }
    });
  }
}
