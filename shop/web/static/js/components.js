// Small visual pieces more than one page draws: prices, stars, stock, status badges, images,
// the pager and the "something went wrong" box.

import { h } from "./dom.js";
import { formatCents, toCents } from "./money.js";

export function setTitle(text) {
  document.title = text ? `${text} · shop` : "shop";
}

export function price(amount, currency) {
  return h("span", { class: "price" }, formatCents(toCents(amount), currency));
}

/** Rating 0..5 as stars, with the number spelled out for screen readers. */
export function stars(rating, count) {
  const value = Math.max(0, Math.min(5, Number(rating) || 0));
  const label = `Rated ${value.toFixed(1)} out of 5${count != null ? `, ${count} review${count === 1 ? "" : "s"}` : ""}`;
  const full = Math.round(value);
  return h(
    "span",
    { class: "stars", role: "img", "aria-label": label, title: label },
    h("span", { class: "stars-on", "aria-hidden": "true" }, "★".repeat(full)),
    h("span", { class: "stars-off", "aria-hidden": "true" }, "★".repeat(5 - full)),
    count != null ? h("span", { class: "stars-count", "aria-hidden": "true" }, ` ${value.toFixed(1)} (${count})`) : null,
  );
}

export function stock(quantity) {
  if (quantity <= 0) return h("span", { class: "badge badge-out" }, "Out of stock");
  if (quantity <= 5) return h("span", { class: "badge badge-low" }, `Only ${quantity} left`);
  return h("span", { class: "badge badge-in" }, "In stock");
}

export function statusBadge(status) {
  const kind = { Created: "created", Dispatched: "dispatched", Cancelled: "cancelled" }[status] ?? "created";
  return h("span", { class: `status status-${kind}`, "data-status": status }, status);
}

/**
 * A product image that degrades to a lettered tile: a product may have no image, or a URL on
 * another host that the Content-Security-Policy (self only) will not load.
 */
/** The URL of an image this page may show: the shop's own (the API answers them absolute, on
 * the origin it was called on); the Content-Security-Policy would block any other. */
function ownImage(src) {
  if (!src) return null;
  try {
    const url = new URL(src, window.location.href);
    return url.origin === window.location.origin ? url.href : null;
  } catch {
    return null;
  }
}

export function productImage(image, name, size = "card") {
  const fallback = () =>
    h("div", { class: `thumb thumb-${size} thumb-empty`, "aria-hidden": "true" }, (name || "?").trim().charAt(0).toUpperCase());
  const src = ownImage(image);
  if (!src) return fallback();
  const img = h("img", { class: `thumb thumb-${size}`, src, alt: name ? `${name}` : "", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(fallback()), { once: true });
  return img;
}

/** Previous / "Page 2 of 5" / Next. onPage(newOffset). */
export function pager({ offset, limit, total, onPage, label = "Pages" }) {
  if (total <= limit) return null;
  const page = Math.floor(offset / limit) + 1;
  const pages = Math.max(1, Math.ceil(total / limit));
  return h(
    "nav",
    { class: "pager", "aria-label": label },
    h("button", { type: "button", class: "btn btn-ghost", disabled: page <= 1, onclick: () => onPage(Math.max(0, offset - limit)) }, "← Previous"),
    h("span", { class: "pager-status", "aria-live": "polite" }, `Page ${page} of ${pages}`),
    h("button", { type: "button", class: "btn btn-ghost", disabled: page >= pages, onclick: () => onPage(offset + limit) }, "Next →"),
  );
}

export function loading(text = "Loading…") {
  return h("p", { class: "muted loading", role: "status" }, text);
}

export function empty(text, ...actions) {
  return h("div", { class: "empty" }, h("p", {}, text), actions.length ? h("p", {}, ...actions) : null);
}

/** An error where the content would be, with the server's own explanation. */
export function failure(error, retry) {
  return h(
    "div",
    { class: "empty empty-error", role: "alert" },
    h("p", {}, error?.message ?? "Something went wrong."),
    retry ? h("button", { type: "button", class: "btn", onclick: retry }, "Try again") : null,
  );
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso ?? "";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(date);
}
