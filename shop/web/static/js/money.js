// Money the way the server does it: integer cents. A JSON price has at most two decimals, so
// it becomes cents once, and every total after that is integer arithmetic (0.1 + 0.2 never
// shows up as 0.30000000000000004 or rounds a cent away).

/** A JSON price (a number with at most two decimals) as integer cents. */
export function toCents(price) {
  const value = Number(price);
  if (!Number.isFinite(value)) throw new TypeError(`not a price: ${price}`);
  // price * 100 is off from the true integer by far less than 0.5 for any price the API
  // allows (up to 1,000,000.00), so rounding recovers the exact number of cents.
  return Math.round(value * 100);
}

/** The exact decimal text of `cents` ("1234.05"), built from integers, never from a float. */
export function centsToDecimal(cents) {
  const sign = cents < 0 ? "-" : "";
  const abs = Math.abs(cents);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
}

const formats = new Map();

/** "$1,234.05" in the reader's locale. */
export function formatCents(cents, currency = "USD") {
  let format = formats.get(currency);
  if (!format) {
    try {
      format = new Intl.NumberFormat(undefined, { style: "currency", currency });
    } catch {
      format = { format: (text) => `${text} ${currency}` }; // an unknown code still shows
    }
    formats.set(currency, format);
  }
  // Intl formats a decimal *string* exactly (no detour through a binary float).
  return format.format(centsToDecimal(cents));
}

/** Sum of unit cents × quantity per currency: Map(currency → cents). */
export function totalsByCurrency(lines) {
  const totals = new Map();
  for (const line of lines) {
    const lineCents = line.unitCents * line.quantity;
    totals.set(line.currency, (totals.get(line.currency) ?? 0) + lineCents);
  }
  return totals;
}
