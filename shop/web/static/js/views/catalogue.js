// #/products?q=&category=&brand=&sort=&in_stock=true&page=2 — the catalogue. The filters live in
// the URL so a reload or a shared link shows the same page; changing one redraws only the
// results (focus stays in the filter the reader is using).

import * as api from "../api.js";
import * as cart from "../cart.js";
import * as notices from "../notices.js";
import { field, h, heading, replace } from "../dom.js";
import { empty, failure, loading, pager, price, productImage, setTitle, stars, stock } from "../components.js";
import { replaceQuery } from "../router.js";

export const PAGE_SIZE = 12;
// The API has no facet endpoint; the catalogue is small, so one page of the largest size
// (200, the API's clamp) gives every category and brand to filter by.
const FACET_LIMIT = 200;

const SORTS = [
  ["", "Featured"],
  ["name", "Name: A to Z"],
  ["-name", "Name: Z to A"],
  ["price", "Price: low to high"],
  ["-price", "Price: high to low"],
  ["-created_at", "Newest first"],
];

function stateFrom(query) {
  const page = Number.parseInt(query.get("page") ?? "1", 10);
  return {
    q: query.get("q") ?? "",
    category: query.get("category") ?? "",
    brand: query.get("brand") ?? "",
    sort: SORTS.some(([value]) => value === query.get("sort")) ? query.get("sort") : "",
    inStock: query.get("in_stock") === "true",
    page: Number.isFinite(page) && page > 0 ? page : 1,
  };
}

function queryFrom(state) {
  const query = {};
  if (state.q) query.q = state.q;
  if (state.category) query.category = state.category;
  if (state.brand) query.brand = state.brand;
  if (state.sort) query.sort = state.sort;
  if (state.inStock) query.in_stock = "true";
  if (state.page > 1) query.page = String(state.page);
  return query;
}

export async function catalogue({ query, main, signal }) {
  setTitle("Catalogue");
  const state = stateFrom(query);

  const search = h("input", { type: "search", name: "q", value: state.q, placeholder: "Laptop, headphones, Acme…", autocomplete: "off" });
  const category = h("select", { name: "category" }, h("option", { value: "" }, "All categories"));
  const brand = h("select", { name: "brand" }, h("option", { value: "" }, "All brands"));
  const sort = h("select", { name: "sort" }, SORTS.map(([value, label]) => h("option", { value, selected: value === state.sort }, label)));
  const inStock = h("input", { type: "checkbox", name: "in_stock", checked: state.inStock });
  const summary = h("p", { class: "results-summary muted", "aria-live": "polite" });
  const results = h("div", { class: "results" }, loading("Loading products…"));

  const form = h(
    "form",
    { class: "filters card-surface", role: "search", "aria-label": "Filter products", onsubmit: (event) => { event.preventDefault(); update({ q: search.value.trim() }); } },
    h("div", { class: "filter-search" }, field("Search", search), h("button", { type: "submit", class: "btn btn-primary" }, "Search")),
    h("div", { class: "filter-row" },
      field("Category", category),
      field("Brand", brand),
      field("Sort by", sort),
      h("label", { class: "check" }, inStock, " In stock only"),
    ),
  );
  category.addEventListener("change", () => update({ category: category.value }));
  brand.addEventListener("change", () => update({ brand: brand.value }));
  sort.addEventListener("change", () => update({ sort: sort.value }));
  inStock.addEventListener("change", () => update({ inStock: inStock.checked }));

  replace(main, h("div", { class: "page-head" }, heading("Catalogue")), form, summary, results);

  let loadAbort = null;
  function update(changes) {
    // Any filter change starts again at page 1; paging itself passes `page`.
    Object.assign(state, { page: 1 }, changes);
    replaceQuery("/products", queryFrom(state));
    load();
  }

  async function load() {
    loadAbort?.abort();
    const abort = new AbortController();
    loadAbort = abort;
    signal.addEventListener("abort", () => abort.abort(), { once: true });
    results.setAttribute("aria-busy", "true");
    try {
      const { data, headers } = await api.get("/api/products", {
        query: {
          q: state.q,
          category: state.category,
          brand: state.brand,
          sort: state.sort,
          in_stock: state.inStock ? "true" : "",
          limit: PAGE_SIZE,
          offset: (state.page - 1) * PAGE_SIZE,
        },
        signal: abort.signal,
      });
      const total = api.totalCount(headers, data.length);
      summary.textContent = describe(total, state);
      replace(
        results,
        data.length
          ? h("ul", { class: "product-grid", "aria-label": "Products" }, data.map(card))
          : empty("No products match these filters.", h("button", { type: "button", class: "btn", onclick: clearFilters }, "Clear filters")),
        pager({
          offset: (state.page - 1) * PAGE_SIZE,
          limit: PAGE_SIZE,
          total,
          label: "Catalogue pages",
          onPage: (offset) => {
            state.page = offset / PAGE_SIZE + 1;
            replaceQuery("/products", queryFrom(state));
            load().then(() => results.querySelector(".product-grid a")?.focus());
            window.scrollTo({ top: 0 });
          },
        }),
      );
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return; // 401: on the way to the login page
      summary.textContent = "";
      replace(results, failure(error, load));
    } finally {
      results.removeAttribute("aria-busy");
    }
  }

  function clearFilters() {
    search.value = "";
    category.value = "";
    brand.value = "";
    sort.value = "";
    inStock.checked = false;
    update({ q: "", category: "", brand: "", sort: "", inStock: false });
  }

  await Promise.all([load(), loadFacets(category, brand, state, signal)]);
}

function describe(total, state) {
  const noun = `${total} product${total === 1 ? "" : "s"}`;
  return state.q ? `${noun} matching “${state.q}”` : noun;
}

async function loadFacets(category, brand, state, signal) {
  try {
    const { data } = await api.get("/api/products", { query: { limit: FACET_LIMIT }, signal });
    fill(category, data.map((p) => p.category), state.category);
    fill(brand, data.map((p) => p.brand), state.brand);
  } catch (error) {
    if (error.name === "AbortError") return;
    // Without facets the selects keep "All …" and the URL's value: filtering still works.
    fill(category, [], state.category);
    fill(brand, [], state.brand);
  }
}

function fill(select, values, selected) {
  const unique = [...new Set(values.filter(Boolean))];
  if (selected && !unique.includes(selected)) unique.push(selected);
  unique.sort((a, b) => a.localeCompare(b));
  select.append(...unique.map((value) => h("option", { value, selected: value === selected }, value)));
  select.value = selected;
}

function card(product) {
  const href = `#/products/${product.id}`;
  const inStock = product.stock_quantity > 0;
  return h(
    "li",
    { class: "product-card" },
    h("a", { href, class: "product-card-image", tabindex: "-1", "aria-hidden": "true" }, productImage(product.images?.[0], product.name)),
    h(
      "div",
      { class: "product-card-body" },
      h("p", { class: "eyebrow" }, [product.brand, product.category].filter(Boolean).join(" · ")),
      h("h2", { class: "product-card-title" }, h("a", { href }, product.name)),
      stars(product.ratings, product.reviews?.length ?? 0),
      h("div", { class: "product-card-foot" }, price(product.price, product.currency), stock(product.stock_quantity)),
      h(
        "button",
        {
          type: "button",
          class: "btn btn-primary btn-block",
          disabled: !inStock,
          "aria-label": `Add ${product.name} to cart`,
          onclick: () => {
            cart.add(product, 1);
            notices.notify(`Added ${product.name} to your cart.`);
          },
        },
        inStock ? "Add to cart" : "Sold out",
      ),
    ),
  );
}
