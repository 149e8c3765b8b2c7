// The cart: kept in localStorage so it survives reloads, logging out and an expired session.
// Prices are stored as integer cents (see money.js); the server prices the order from its own
// catalogue, and the cart refreshes its prices from the catalogue before checkout so the total
// the customer sees is the total the server computes.

import { toCents, totalsByCurrency } from "./money.js";
import { uuid } from "./uuid.js";

const KEY = "shop.cart.v1";
const CHECKOUT_KEY = "shop.checkout.v1";
export const MAX_QUANTITY = 1000; // the API's limit per order line
const listeners = new Set();

/** [{productId, name, unitCents, currency, image, stock, quantity}] */
export function lines() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(stored) ? stored.filter(isLine) : [];
  } catch {
    return [];
  }
}

function isLine(line) {
  return Number.isInteger(line?.productId) && Number.isInteger(line.quantity) && line.quantity > 0
    && Number.isInteger(line.unitCents);
}

function save(next) {
  localStorage.setItem(KEY, JSON.stringify(next));
  for (const listener of listeners) listener(next);
}

/** What the cart remembers of a product: enough to draw the cart without asking the API. */
function snapshot(product) {
  return {
    productId: product.id,
    name: product.name,
    unitCents: toCents(product.price),
    currency: product.currency,
    image: product.images?.[0] ?? null,
    stock: product.stock_quantity,
  };
}

export function add(product, quantity = 1) {
  const current = lines();
  const existing = current.find((line) => line.productId === product.id);
  if (existing) {
    Object.assign(existing, snapshot(product));
    existing.quantity = clampQuantity(existing.quantity + quantity);
  } else {
    current.push({ ...snapshot(product), quantity: clampQuantity(quantity) });
  }
  save(current);
}

export function setQuantity(productId, quantity) {
  save(lines().map((line) => (line.productId === productId ? { ...line, quantity: clampQuantity(quantity) } : line)));
}

export function remove(productId) {
  save(lines().filter((line) => line.productId !== productId));
}

/** Take the catalogue's current price, name and stock for a line (before checkout). */
export function refresh(product) {
  save(lines().map((line) => (line.productId === product.id ? { ...line, ...snapshot(product) } : line)));
}

export function clear() {
  save([]);
  localStorage.removeItem(CHECKOUT_KEY);
}

export function count(current = lines()) {
  return current.reduce((sum, line) => sum + line.quantity, 0);
}

/** Map(currency → total cents): unit cents × quantity, summed, exactly as the server does. */
export function totals(current = lines()) {
  return totalsByCurrency(current);
}

export function clampQuantity(quantity) {
  const whole = Math.trunc(Number(quantity));
  return Number.isFinite(whole) ? Math.min(Math.max(whole, 1), MAX_QUANTITY) : 1;
}

/** The body of POST /api/orders. */
export function orderBody(current = lines()) {
  return { items: current.map((line) => ({ product_id: line.productId, quantity: line.quantity })) };
}

/**
 * The Idempotency-Key of this checkout: made when the checkout starts and reused for every
 * retry and double click of the same cart, so the server makes one order however often the
 * button fires. A changed cart is a different order (the server would answer 409 to the old
 * key with a new body), so it gets a new key. Kept in localStorage: a reload after a lost
 * answer still retries with the same key.
 */
export function checkoutKey(body = orderBody()) {
  const fingerprint = JSON.stringify(body);
  try {
    const saved = JSON.parse(localStorage.getItem(CHECKOUT_KEY) ?? "null");
    if (saved?.fingerprint === fingerprint && typeof saved.key === "string") return saved.key;
  } catch {
    // fall through to a new key
  }
  const key = uuid();
  localStorage.setItem(CHECKOUT_KEY, JSON.stringify({ key, fingerprint }));
  return key;
}

export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Another tab changed the cart: redraw the badge here too.
window.addEventListener("storage", (event) => {
  if (event.key === KEY || event.key === null) {
    const current = lines();
    for (const listener of listeners) listener(current);
  }
});
