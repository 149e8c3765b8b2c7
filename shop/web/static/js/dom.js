// Building DOM nodes without innerHTML: every product name, review and error detail comes from
// somewhere else, so text always goes in as text nodes and can never become markup.

/**
 * h("a", {href: "#/cart", class: "btn", onclick: fn}, "Cart ", badge)
 * Attributes are set as attributes, `on*` functions become listeners; null/false skip.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "value") {
      el.value = value; // the property: for <textarea> and <select> the attribute does nothing
    } else if (key === "checked") {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace everything inside `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A unique id for label/aria-describedby pairs. */
export function uid(prefix = "f") {
  ids += 1;
  return `${prefix}-${ids}`;
}

/**
 * A labelled form field. Every input gets a visible <label> and an error slot that the input
 * points at with aria-describedby, so a screen reader reads the error with the field.
 */
export function field(label, input, hint) {
  const id = input.id || uid();
  input.id = id;
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  input.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  const error = h("small", { id: errorId, class: "field-error", "data-error-for": input.name || id });
  // Once the reader edits a field its old error no longer applies.
  input.addEventListener("input", () => {
    input.removeAttribute("aria-invalid");
    error.textContent = "";
  });
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { id: hintId, class: "hint" }, hint) : null,
    error,
  );
}

/** Show the problem document's per-field errors next to the fields they name. */
export function showFieldErrors(form, errors) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const { loc, msg } of errors ?? []) {
    const name = Array.isArray(loc) ? loc.filter((part) => typeof part === "string").at(-1) : null;
    const input = name ? form.elements.namedItem(name) : null;
    if (!(input instanceof HTMLElement)) continue;
    input.setAttribute("aria-invalid", "true");
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) slot.textContent = msg;
  }
}

/** Disable a button while `work` runs, so a second click cannot start it twice. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** The page heading: focused after each navigation so keyboard and screen-reader users land on it. */
export function heading(text, level = 1) {
  return h(`h${level}`, { tabindex: "-1", class: level === 1 ? "page-title" : null }, text);
}
