// #/products/:id — images, price, stock, specifications, rating and reviews; add to cart.

import * as api from "../api.js";
import * as cart from "../cart.js";
import * as notices from "../notices.js";
import { field, h, heading, replace } from "../dom.js";
import { failure, loading, price, productImage, setTitle, stars, stock } from "../components.js";

export async function productDetail({ params, main, signal }) {
  setTitle("Product");
  replace(main, loading("Loading product…"));
  let product;
  try {
    ({ data: product } = await api.get(`/api/products/${encodeURIComponent(params.id)}`, { signal }));
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) return;
    replace(
      main,
      heading(error.status === 404 ? "Product not found" : "Could not load this product"),
      failure(error),
      h("p", {}, h("a", { href: "#/products" }, "← Back to the catalogue")),
    );
    return;
  }
  setTitle(product.name);
  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: "#/products" }, "← Catalogue"), product.category ? ` / ${product.category}` : ""),
    h("article", { class: "product-detail" }, gallery(product), summary(product)),
    details(product),
    reviews(product),
  );
}

function gallery(product) {
  const images = product.images?.length ? product.images : [null];
  const stage = h("div", { class: "gallery-stage" }, productImage(images[0], product.name, "large"));
  const thumbs = images.length > 1
    ? h(
        "ul",
        { class: "gallery-thumbs", "aria-label": "More pictures" },
        images.map((src, i) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                class: "gallery-thumb",
                "aria-label": `Show picture ${i + 1} of ${images.length}`,
                "aria-pressed": i === 0 ? "true" : "false",
                onclick: (event) => {
                  replace(stage, productImage(src, product.name, "large"));
                  for (const b of thumbs.querySelectorAll("button")) b.setAttribute("aria-pressed", "false");
                  event.currentTarget.setAttribute("aria-pressed", "true");
                },
              },
              productImage(src, product.name, "mini"),
            ),
          ),
        ),
      )
    : null;
  return h("div", { class: "gallery" }, stage, thumbs);
}

function summary(product) {
  const inStock = product.stock_quantity > 0;
  const quantity = h("input", {
    type: "number",
    name: "quantity",
    min: "1",
    max: String(Math.max(1, Math.min(product.stock_quantity, cart.MAX_QUANTITY))),
    value: "1",
    inputmode: "numeric",
    disabled: !inStock,
  });
  const form = h(
    "form",
    {
      class: "buy",
      onsubmit: (event) => {
        event.preventDefault();
        const wanted = cart.clampQuantity(quantity.value);
        cart.add(product, wanted);
        notices.notify(`Added ${wanted} × ${product.name} to your cart.`);
      },
    },
    field("Quantity", quantity),
    h("button", { type: "submit", class: "btn btn-primary", disabled: !inStock }, inStock ? "Add to cart" : "Sold out"),
    h("a", { href: "#/cart", class: "btn btn-ghost" }, "View cart"),
  );
  return h(
    "div",
    { class: "product-summary" },
    h("p", { class: "eyebrow" }, [product.brand, product.model].filter(Boolean).join(" · ")),
    heading(product.name),
    stars(product.ratings, product.reviews?.length ?? 0),
    h("p", { class: "price-large" }, price(product.price, product.currency)),
    h("p", {}, stock(product.stock_quantity), inStock ? h("span", { class: "muted" }, ` ${product.stock_quantity} available`) : null),
    product.description ? h("p", { class: "description" }, product.description) : null,
    form,
  );
}

function details(product) {
  const specs = Object.entries(product.specifications ?? {});
  const facts = [
    ["SKU", product.sku],
    ["Brand", product.brand],
    ["Model", product.model],
    ["Category", product.category],
  ].filter(([, value]) => value);
  return h(
    "section",
    { class: "card-surface section", "aria-labelledby": "specs-title" },
    h("h2", { id: "specs-title" }, "Specifications"),
    h("dl", { class: "specs" }, [...facts, ...specs].map(([key, value]) => [h("dt", {}, key), h("dd", {}, value)])),
    product.additional_info ? h("p", { class: "muted" }, product.additional_info) : null,
  );
}

function reviews(product) {
  const list = product.reviews ?? [];
  return h(
    "section",
    { class: "card-surface section", "aria-labelledby": "reviews-title" },
    h("h2", { id: "reviews-title" }, `Reviews (${list.length})`),
    list.length
      ? h(
          "ul",
          { class: "reviews" },
          list.map((review) =>
            h(
              "li",
              { class: "review" },
              h("p", { class: "review-head" }, h("strong", {}, review.user), " ", stars(review.rating)),
              review.comment ? h("p", {}, review.comment) : null,
            ),
          ),
        )
      : h("p", { class: "muted" }, "No reviews yet."),
  );
}
