// #/profile — the customer's own profile (GET /api/customers/me), edited with a PATCH of only
// the fields that changed. The email is shown but not editable: the API refuses to change it.

import * as api from "../api.js";
import * as notices from "../notices.js";
import * as session from "../session.js";
import { busy, field, h, heading, replace, showFieldErrors } from "../dom.js";
import { failure, formatDate, loading, setTitle } from "../components.js";

const FIELDS = [
  ["name", "Name", "text", { autocomplete: "name", required: true, maxlength: "200" }],
  ["address", "Address", "text", { autocomplete: "street-address", maxlength: "500" }],
  ["city", "City", "text", { autocomplete: "address-level2", maxlength: "500" }],
  ["mobile", "Mobile", "tel", { autocomplete: "tel", maxlength: "40" }],
  ["location", "Location", "text", { maxlength: "500" }],
  ["sex", "Sex", "text", { maxlength: "40" }],
  ["preferences", "Preferences", "textarea", { maxlength: "500" }],
  ["interests", "Interests", "textarea", { maxlength: "500" }],
];

export async function profile({ main, signal }) {
  setTitle("Profile");
  replace(main, h("div", { class: "page-head" }, heading("Your profile")), loading("Loading your profile…"));
  let customer;
  try {
    ({ data: customer } = await api.get("/api/customers/me", { signal }));
  } catch (error) {
    if (error.name === "AbortError" || error.status === 401) return;
    replace(main, heading("Your profile"), failure(error));
    return;
  }

  const inputs = Object.fromEntries(
    FIELDS.map(([name, , type, extra]) => [
      name,
      type === "textarea"
        ? h("textarea", { name, rows: "3", ...extra, value: customer[name] ?? "" })
        : h("input", { type, name, ...extra, value: customer[name] ?? "" }),
    ]),
  );
  const error = h("p", { class: "form-error", role: "alert", id: "profile-error" });
  const saved = h("p", { class: "muted small", id: "profile-updated" }, `Last changed ${formatDate(customer.updated_at)}`);
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, "Save changes");
  const form = h(
    "form",
    {
      class: "card-surface form-card",
      novalidate: true,
      "aria-describedby": "profile-error",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        const changes = {};
        for (const [name, el] of Object.entries(inputs)) {
          const value = el.value.trim();
          if (value !== (customer[name] ?? "")) changes[name] = value;
        }
        if (!Object.keys(changes).length) {
          notices.notify("Nothing to save: the profile is unchanged.");
          return;
        }
        await busy(submit, async () => {
          try {
            const { data } = await api.patch(`/api/customers/${customer.id}`, changes);
            customer = data;
            showFieldErrors(form, []);
            saved.textContent = `Last changed ${formatDate(customer.updated_at)}`;
            if (changes.name) session.updateUser({ name: customer.name });
            notices.notify("Your profile is saved.");
          } catch (failure) {
            if (failure.status === 401) return;
            error.textContent = failure.fullMessage;
            showFieldErrors(form, failure.errors);
            form.querySelector("[aria-invalid]")?.focus();
          }
        });
      },
    },
    error,
    h("div", { class: "field" },
      h("span", { class: "label", id: "email-label" }, "Email"),
      h("p", { class: "readonly", "aria-labelledby": "email-label" }, customer.email),
    ),
    h("div", { class: "form-grid" }, FIELDS.map(([name, label]) => field(label, inputs[name]))),
    h("div", { class: "form-actions" }, submit, saved),
  );
  replace(main, h("div", { class: "page-head" }, heading("Your profile")), form);
}
