// #/cart — quantities, exact totals, and checkout. Placing the order sends one Idempotency-Key
// per checkout (see cart.checkoutKey), so a double click or a retry after a lost answer never
// makes a second order.

import * as api from "../api.js";
import * as cart from "../cart.js";
import * as notices from "../notices.js";
import * as session from "../session.js";
import { busy, h, heading, replace } from "../dom.js";
import { empty, productImage, setTitle } from "../components.js";
import { formatCents } from "../money.js";
import { navigate } from "../router.js";

export async function cartView({ main, signal }) {
  setTitle("Cart");
  const unavailable = new Set(); // products the catalogue no longer has
  let checkout = null; // the checkout in flight: a second click joins it instead of starting one
  const body = h("div", { class: "cart-body", "aria-busy": "true" }); // until prices are checked
  replace(main, h("div", { class: "page-head" }, heading("Your cart")), body);
  draw();
  const stop = cart.subscribe(draw);
  signal.addEventListener("abort", stop, { once: true });
  await refreshPrices();

  function draw() {
    const lines = cart.lines();
    if (!lines.length) {
      replace(body, empty("Your cart is empty.", h("a", { href: "#/products", class: "btn btn-primary" }, "Browse the catalogue")));
      return;
    }
    const list = body.querySelector(".cart-lines");
    const shown = list ? [...list.children].map((li) => Number(li.dataset.productId)) : [];
    if (shown.length === lines.length && lines.every((line, i) => line.productId === shown[i])) {
      // Same lines: update them in place, so the field being typed in and the keyboard
      // focus stay where they are (a redraw would swap the input under the reader).
      lines.forEach((line, i) => updateLine(list.children[i], line));
      const summary = body.querySelector(".cart-summary");
      const focusedId = summary.contains(document.activeElement) ? document.activeElement.id : "";
      summary.replaceWith(summaryView(lines));
      if (focusedId) document.getElementById(focusedId)?.focus();
      return;
    }
    replace(
      body,
      h("div", { class: "cart-layout" },
        h("ul", { class: "cart-lines", "aria-label": "Items in your cart" }, lines.map(lineView)),
        summaryView(lines),
      ),
    );
  }

  function lineView(line) {
    const quantity = h("input", {
      type: "number",
      name: `quantity-${line.productId}`,
      min: "1",
      max: String(cart.MAX_QUANTITY),
      value: String(line.quantity),
      inputmode: "numeric",
      "aria-label": `Quantity of ${line.name}`,
    });
    quantity.addEventListener("change", () => cart.setQuantity(line.productId, quantity.value));
    const item = h(
      "li",
      { class: "cart-line", "data-product-id": String(line.productId) },
      h("a", { href: `#/products/${line.productId}`, class: "thumb-link", tabindex: "-1", "aria-hidden": "true" }, productImage(line.image, line.name, "small")),
      h("div", { class: "cart-line-main" },
        h("a", { href: `#/products/${line.productId}`, class: "cart-line-name" }, line.name),
        h("p", { class: "muted cart-line-unit" }),
        h("div", { class: "cart-line-notes" }),
      ),
      h("div", { class: "cart-line-qty" }, quantity),
      h("p", { class: "cart-line-total" }),
      h("button", { type: "button", class: "btn btn-ghost btn-small", "aria-label": `Remove ${line.name}`, onclick: () => cart.remove(line.productId) }, "Remove"),
    );
    updateLine(item, line);
    return item;
  }

  /** The parts of a line that change: price, quantity, line total, stock notes. */
  function updateLine(item, line) {
    const gone = unavailable.has(line.productId);
    item.classList.toggle("cart-line-gone", gone);
    item.querySelector(".cart-line-unit").textContent = `${formatCents(line.unitCents, line.currency)} each`;
    const quantity = item.querySelector("input");
    if (document.activeElement !== quantity) quantity.value = String(line.quantity);
    const lineCents = line.unitCents * line.quantity;
    const total = item.querySelector(".cart-line-total");
    total.dataset.cents = String(lineCents);
    total.textContent = formatCents(lineCents, line.currency);
    replace(
      item.querySelector(".cart-line-notes"),
      gone ? h("p", { class: "field-error" }, "No longer sold — remove it to check out.") : null,
      !gone && line.stock != null && line.quantity > line.stock
        ? h("p", { class: "field-error" }, line.stock ? `Only ${line.stock} in stock.` : "Out of stock.")
        : null,
    );
  }

  function summaryView(lines) {
    const totals = [...cart.totals(lines)];
    const user = session.active()?.user;
    const blocked = lines.some((line) => unavailable.has(line.productId));
    return h(
      "aside",
      { class: "cart-summary card-surface", "aria-label": "Order summary" },
      h("h2", {}, "Summary"),
      h("p", { class: "muted" }, `${cart.count(lines)} item${cart.count(lines) === 1 ? "" : "s"}`),
      h("dl", { class: "totals" },
        totals.map(([currency, cents]) => [
          h("dt", {}, totals.length > 1 ? `Total (${currency})` : "Total"),
          h("dd", { class: "cart-total", "data-cents": String(cents), "data-currency": currency }, formatCents(cents, currency)),
        ]),
      ),
      user
        ? h("button", { type: "button", class: "btn btn-primary btn-block", id: "place-order", disabled: blocked, onclick: (event) => placeOrder(event.currentTarget) }, "Place order")
        : h("div", { class: "stack" },
            h("a", { href: "#/login?next=%2Fcart", class: "btn btn-primary btn-block" }, "Log in to check out"),
            h("a", { href: "#/register?next=%2Fcart", class: "btn btn-ghost btn-block" }, "Create an account"),
          ),
      h("p", { class: "muted small" }, "Prices are confirmed by the shop when you place the order."),
    );
  }

  function placeOrder(button) {
    checkout ??= busy(button, submit).finally(() => {
      checkout = null;
    });
    return checkout;
  }

  async function submit() {
    const orderBody = cart.orderBody();
    const key = cart.checkoutKey(orderBody); // the same key for every attempt at this cart
    try {
      const { data: order } = await api.post("/api/orders", orderBody, { headers: { "Idempotency-Key": key } });
      cart.clear();
      notices.flash(`Thank you! Order #${order.id} is placed.`);
      navigate(`/orders/${order.id}`);
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return; // left the page / sent to login
      if (error.status === 409) {
        notices.alert(`${error.message} Please change the quantity and try again.`);
        await refreshPrices();
      } else if (error.status === 422) {
        notices.alert(`The order was not accepted: ${error.fullMessage}`);
      } else if (error.status === 0) {
        notices.alert(`${error.message} Trying again is safe: the order will not be placed twice.`);
      } else {
        notices.alert(error.message);
      }
    }
  }

  /** Take current prices and stock from the catalogue, so the total shown is what is charged. */
  async function refreshPrices() {
    body.setAttribute("aria-busy", "true");
    try {
      await refreshLines();
    } finally {
      body.removeAttribute("aria-busy");
    }
  }

  async function refreshLines() {
    const lines = cart.lines();
    const before = new Map(cart.totals(lines));
    const answers = await Promise.allSettled(lines.map((line) => api.get(`/api/products/${line.productId}`, { signal })));
    if (signal.aborted) return;
    answers.forEach((answer, i) => {
      const id = lines[i].productId;
      if (answer.status === "fulfilled") {
        unavailable.delete(id);
        cart.refresh(answer.value.data);
      } else if (answer.reason?.status === 404) {
        unavailable.add(id);
      }
    });
    draw();
    const after = cart.totals();
    const changed = [...after].some(([currency, cents]) => before.has(currency) && before.get(currency) !== cents);
    if (changed) notices.notify("Prices in your cart were updated from the catalogue.");
  }
}
