// #/admin/products/new and #/admin/products/:id — create (POST) or edit (PATCH of the changed
// fields only). Images are one URL per line; specifications one "key: value" per line.

import * as api from "../../api.js";
import * as notices from "../../notices.js";
import { busy, field, h, heading, replace, showFieldErrors } from "../../dom.js";
import { failure, loading, setTitle } from "../../components.js";
import { centsToDecimal, toCents } from "../../money.js";
import { navigate } from "../../router.js";
import { adminNav } from "./nav.js";

const BLANK = {
  name: "", sku: "", price: null, currency: "USD", stock_quantity: 0, category: "", brand: "", model: "",
  description: "", additional_info: "", images: [], specifications: {}, ratings: 0,
};

export async function adminProductForm({ params, main, signal }) {
  const creating = !params.id;
  setTitle(creating ? "Admin · New product" : "Admin · Edit product");
  replace(main, loading());
  let product = BLANK;
  if (!creating) {
    try {
      ({ data: product } = await api.get(`/api/products/${encodeURIComponent(params.id)}`, { signal }));
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(main, heading("Edit product"), adminNav("#/admin/products"), failure(error));
      return;
    }
  }

  const text = (name, extra = {}) => h("input", { type: "text", name, value: product[name] ?? "", ...extra });
  const inputs = {
    name: text("name", { required: true, maxlength: "200" }),
    sku: text("sku", { required: true, maxlength: "64", pattern: "[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}", class: "mono" }),
    price: h("input", { type: "number", name: "price", min: "0.01", step: "0.01", required: true, inputmode: "decimal", value: product.price == null ? "" : centsToDecimal(toCents(product.price)) }),
    currency: text("currency", { maxlength: "3", pattern: "[A-Z]{3}", class: "input-narrow" }),
    stock_quantity: h("input", { type: "number", name: "stock_quantity", min: "0", step: "1", inputmode: "numeric", value: String(product.stock_quantity ?? 0) }),
    category: text("category", { maxlength: "100" }),
    brand: text("brand", { maxlength: "100" }),
    model: text("model", { maxlength: "100" }),
    ratings: h("input", { type: "number", name: "ratings", min: "0", max: "5", step: "0.1", value: String(product.ratings ?? 0) }),
    description: h("textarea", { name: "description", rows: "4", maxlength: "5000", value: product.description ?? "" }),
    additional_info: h("textarea", { name: "additional_info", rows: "2", maxlength: "5000", value: product.additional_info ?? "" }),
    images: h("textarea", { name: "images", rows: "3", class: "mono", value: (product.images ?? []).join("\n") }),
    specifications: h("textarea", { name: "specifications", rows: "5", value: Object.entries(product.specifications ?? {}).map(([k, v]) => `${k}: ${v}`).join("\n") }),
  };
  const error = h("p", { class: "form-error", role: "alert", id: "product-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, creating ? "Create product" : "Save changes");

  const form = h(
    "form",
    { class: "card-surface form-card", novalidate: true, "aria-describedby": "product-error", onsubmit: (event) => { event.preventDefault(); save(); } },
    error,
    h("div", { class: "form-grid" },
      field("Name", inputs.name),
      field("SKU", inputs.sku, "Letters, digits, dot, dash and underscore."),
      field("Price", inputs.price, "At most two decimals."),
      field("Currency", inputs.currency, "ISO 4217 code, e.g. USD."),
      field("Stock", inputs.stock_quantity),
      field("Rating (0–5)", inputs.ratings),
      field("Category", inputs.category),
      field("Brand", inputs.brand),
      field("Model", inputs.model),
    ),
    field("Description", inputs.description),
    field("Additional information", inputs.additional_info),
    field("Images", inputs.images, "One URL per line: /static/products/… or https://…"),
    field("Specifications", inputs.specifications, "One per line, as “Name: value”."),
    h("div", { class: "form-actions" }, submit, h("a", { href: "#/admin/products", class: "btn btn-ghost" }, "Cancel")),
  );
  replace(main, h("div", { class: "page-head" }, heading(creating ? "New product" : `Edit ${product.name}`)), adminNav("#/admin/products"), form);

  /** The form as API values, or a list of [field, message] problems found before sending. */
  function read() {
    const problems = [];
    const value = {
      name: inputs.name.value.trim(),
      sku: inputs.sku.value.trim(),
      currency: inputs.currency.value.trim().toUpperCase() || "USD",
      category: inputs.category.value.trim(),
      brand: inputs.brand.value.trim(),
      model: inputs.model.value.trim(),
      description: inputs.description.value.trim(),
      additional_info: inputs.additional_info.value.trim(),
      images: inputs.images.value.split("\n").map((line) => line.trim()).filter(Boolean),
      specifications: {},
    };
    // The price stays a two-decimal number: parse the typed text, not a float sum.
    const priceText = inputs.price.value.trim();
    if (!/^\d+(\.\d{1,2})?$/.test(priceText) || Number(priceText) <= 0) problems.push(["price", "Enter a price above 0 with at most two decimals."]);
    else value.price = Number(priceText);
    const stock = Number(inputs.stock_quantity.value);
    if (!Number.isInteger(stock) || stock < 0) problems.push(["stock_quantity", "Stock must be a whole number, 0 or more."]);
    else value.stock_quantity = stock;
    const rating = Number(inputs.ratings.value || 0);
    if (!(rating >= 0 && rating <= 5)) problems.push(["ratings", "A rating is between 0 and 5."]);
    else value.ratings = rating;
    for (const line of inputs.specifications.value.split("\n")) {
      if (!line.trim()) continue;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        problems.push(["specifications", `“${line.trim()}” needs the form “Name: value”.`]);
        continue;
      }
      value.specifications[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    if (!value.name) problems.push(["name", "A product needs a name."]);
    if (!value.sku) problems.push(["sku", "A product needs a SKU."]);
    return { value, problems };
  }

  function changed(value) {
    if (creating) return value;
    const changes = {};
    for (const [key, next] of Object.entries(value)) {
      if (JSON.stringify(next) !== JSON.stringify(product[key])) changes[key] = next;
    }
    return changes;
  }

  async function save() {
    error.textContent = "";
    const { value, problems } = read();
    showFieldErrors(form, problems.map(([name, msg]) => ({ loc: [name], msg })));
    if (problems.length) {
      error.textContent = "Please correct the marked fields.";
      form.querySelector("[aria-invalid]")?.focus();
      return;
    }
    const body = changed(value);
    if (!Object.keys(body).length) {
      notices.notify("Nothing to save: the product is unchanged.");
      return;
    }
    await busy(submit, async () => {
      try {
        const { data } = creating
          ? await api.post("/api/products", body, { signal })
          : await api.patch(`/api/products/${product.id}`, body, { signal });
        notices.flash(creating ? `${data.name} is created.` : `${data.name} is saved.`);
        navigate("/admin/products", { q: data.name });
      } catch (failure) {
        if (failure.name === "AbortError" || failure.status === 401) return;
        error.textContent = failure.fullMessage;
        showFieldErrors(form, failure.errors);
        form.querySelector("[aria-invalid]")?.focus();
      }
    });
  }
}
