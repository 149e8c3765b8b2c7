// #/admin/products — every product with its stock editable in place, plus edit and delete.

import * as api from "../../api.js";
import * as notices from "../../notices.js";
import { busy, h, heading, replace } from "../../dom.js";
import { empty, failure, loading, pager, price, productImage, setTitle } from "../../components.js";
import { replaceQuery } from "../../router.js";
import { adminNav } from "./nav.js";

const PAGE_SIZE = 25;

export async function adminProducts({ query, main, signal }) {
  setTitle("Admin · Products");
  const state = { q: query.get("q") ?? "", offset: Math.max(0, Number.parseInt(query.get("offset") ?? "0", 10) || 0) };
  const search = h("input", { type: "search", name: "q", value: state.q, "aria-label": "Search products", placeholder: "Search name, brand…" });
  const body = h("div", {}, loading("Loading products…"));
  replace(
    main,
    h("div", { class: "page-head" }, heading("Administration"), h("a", { href: "#/admin/products/new", class: "btn btn-primary" }, "New product")),
    adminNav("#/admin/products"),
    h("form", { class: "inline-form", role: "search", onsubmit: (event) => { event.preventDefault(); state.q = search.value.trim(); state.offset = 0; sync(); load(); } },
      search, h("button", { type: "submit", class: "btn" }, "Search")),
    body,
  );
  await load();

  function sync() {
    const q = {};
    if (state.q) q.q = state.q;
    if (state.offset) q.offset = String(state.offset);
    replaceQuery("/admin/products", q);
  }

  async function load() {
    try {
      const { data, headers } = await api.get("/api/products", { query: { q: state.q, sort: "name", limit: PAGE_SIZE, offset: state.offset }, signal });
      const total = api.totalCount(headers, data.length);
      if (!data.length) {
        replace(body, empty(state.q ? "No product matches." : "There are no products yet."));
        return;
      }
      replace(
        body,
        h("div", { class: "table-wrap" },
          h("table", { class: "table admin-table" },
            h("caption", { class: "visually-hidden" }, "Products"),
            h("thead", {}, h("tr", {},
              h("th", { scope: "col" }, "Product"),
              h("th", { scope: "col", class: "hide-narrow" }, "SKU"),
              h("th", { scope: "col", class: "num" }, "Price"),
              h("th", { scope: "col" }, "Stock"),
              h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")),
            )),
            h("tbody", {}, data.map(row)),
          ),
        ),
        pager({ offset: state.offset, limit: PAGE_SIZE, total, label: "Product pages", onPage: (next) => { state.offset = next; sync(); load(); } }),
      );
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(body, failure(error, load));
    }
  }

  function row(product) {
    const stockInput = h("input", {
      type: "number", name: `stock-${product.id}`, min: "0", step: "1", value: String(product.stock_quantity),
      class: "input-narrow", "aria-label": `Stock of ${product.name}`, inputmode: "numeric",
    });
    const save = h("button", { type: "submit", class: "btn btn-small" }, "Set");
    const stockForm = h("form", {
      class: "stock-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const quantity = Number(stockInput.value);
        if (!Number.isInteger(quantity) || quantity < 0) {
          notices.alert("Stock must be a whole number, 0 or more.");
          stockInput.focus();
          return;
        }
        await busy(save, async () => {
          try {
            const { data } = await api.patch(`/api/products/${product.id}`, { stock_quantity: quantity }, { signal });
            stockInput.value = String(data.stock_quantity);
            notices.notify(`${data.name}: stock is now ${data.stock_quantity}.`);
          } catch (error) {
            if (error.name !== "AbortError" && error.status !== 401) notices.alert(error.fullMessage);
          }
        });
      },
    }, stockInput, save);

    // Deleting takes two clicks (the second on "Confirm delete"), with no modal dialog to trap focus.
    const remove = h("button", { type: "button", class: "btn btn-small btn-ghost-danger", "aria-label": `Delete ${product.name}` }, "Delete");
    remove.addEventListener("click", async () => {
      if (remove.dataset.confirm !== "yes") {
        remove.dataset.confirm = "yes";
        remove.textContent = "Confirm delete";
        remove.setAttribute("aria-label", `Confirm: delete ${product.name}`);
        return;
      }
      await busy(remove, async () => {
        try {
          await api.del(`/api/products/${product.id}`, { signal });
          notices.notify(`${product.name} is deleted.`);
          await load();
        } catch (error) {
          if (error.name !== "AbortError" && error.status !== 401) notices.alert(error.message);
        }
      });
    });
    remove.addEventListener("blur", () => {
      if (remove.dataset.confirm === "yes" && !remove.disabled) {
        remove.dataset.confirm = "";
        remove.textContent = "Delete";
        remove.setAttribute("aria-label", `Delete ${product.name}`);
      }
    });

    return h("tr", { "data-product-id": String(product.id) },
      h("td", {}, h("span", { class: "item-cell" }, productImage(product.images?.[0], product.name, "mini"), h("a", { href: `#/products/${product.id}` }, product.name))),
      h("td", { class: "mono hide-narrow" }, product.sku),
      h("td", { class: "num" }, price(product.price, product.currency)),
      h("td", {}, stockForm),
      h("td", { class: "actions" },
        h("a", { href: `#/admin/products/${product.id}`, class: "btn btn-small", "aria-label": `Edit ${product.name}` }, "Edit"),
        remove,
      ),
    );
  }
}
