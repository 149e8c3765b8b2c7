// #/login and #/register. Both end in a session and go on to `next` (the page that asked for a
// login), so an expired session in the middle of checkout returns the reader to the cart.

import * as api from "../api.js";
import * as notices from "../notices.js";
import * as session from "../session.js";
import { busy, field, h, heading, replace, showFieldErrors } from "../dom.js";
import { setTitle } from "../components.js";
import { navigate } from "../router.js";

/** Only in-app paths: a `next` pointing elsewhere would make the login page an open redirect. */
function nextPath(query) {
  const next = query.get("next") ?? "";
  return /^\/[A-Za-z0-9/_\-?=&%.+]*$/.test(next) && !next.startsWith("//") ? next : "/products";
}

function go(next) {
  const [path, search] = next.split("?", 2);
  navigate(path, search ? new URLSearchParams(search) : undefined);
}

function authPage(main, title, form, footer) {
  replace(main, h("div", { class: "auth-page card-surface" }, heading(title), form, h("p", { class: "muted auth-switch" }, footer)));
}

export function login({ query, main }) {
  setTitle("Log in");
  const next = nextPath(query);
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "form-error", role: "alert", id: "login-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Log in");
  const form = h(
    "form",
    {
      novalidate: true,
      "aria-describedby": "login-error",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        if (!email.value.trim() || !password.value) {
          error.textContent = "Enter your email and password.";
          (email.value.trim() ? password : email).focus();
          return;
        }
        await busy(submit, async () => {
          try {
            const { data } = await api.post("/api/auth/login", { email: email.value.trim(), password: password.value }, { auth: false });
            session.start(data);
            notices.flash(`Welcome back, ${data.user.name}.`);
            go(next);
          } catch (failure) {
            // One message for an unknown email and a wrong password alike (the server's).
            error.textContent = failure.status === 401 ? `${failure.message}` : failure.fullMessage;
            password.select();
          }
        });
      },
    },
    error,
    field("Email", email),
    field("Password", password),
    h("p", { class: "auth-forgot" }, h("a", { href: "#/forgot-password" }, "Forgot password?")),
    submit,
  );
  authPage(main, "Log in", form, ["New here? ", h("a", { href: `#/register?next=${encodeURIComponent(next)}` }, "Create an account")]);
}

export function register({ query, main }) {
  setTitle("Create an account");
  const next = nextPath(query);
  const input = (name, type = "text", extra = {}) => h("input", { type, name, ...extra });
  const fields = {
    name: input("name", "text", { autocomplete: "name", required: true, maxlength: "200" }),
    email: input("email", "email", { autocomplete: "email", required: true }),
    password: input("password", "password", { autocomplete: "new-password", required: true, minlength: "8" }),
    address: input("address", "text", { autocomplete: "street-address" }),
    city: input("city", "text", { autocomplete: "address-level2" }),
    mobile: input("mobile", "tel", { autocomplete: "tel" }),
  };
  const error = h("p", { class: "form-error", role: "alert", id: "register-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Create account");
  const form = h(
    "form",
    {
      novalidate: true,
      "aria-describedby": "register-error",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        const body = {};
        for (const [name, el] of Object.entries(fields)) {
          const value = name === "password" ? el.value : el.value.trim();
          if (value) body[name] = value;
        }
        await busy(submit, async () => {
          try {
            const { data } = await api.post("/api/auth/register", body, { auth: false });
            session.start(data);
            notices.flash(`Welcome, ${data.user.name}! Your account is ready.`);
            go(next);
          } catch (failure) {
            error.textContent = failure.status === 409 ? `${failure.message} Log in instead?` : failure.fullMessage;
            showFieldErrors(form, failure.errors);
            const invalid = form.querySelector("[aria-invalid]");
            invalid?.closest("details")?.setAttribute("open", "");
            invalid?.focus();
          }
        });
      },
    },
    error,
    field("Name", fields.name),
    field("Email", fields.email),
    field("Password", fields.password, "At least 8 characters."),
    h("details", { class: "optional" },
      h("summary", {}, "Address and phone (optional)"),
      field("Address", fields.address),
      field("City", fields.city),
      field("Mobile", fields.mobile),
    ),
    submit,
  );
  authPage(main, "Create an account", form, ["Already have an account? ", h("a", { href: `#/login?next=${encodeURIComponent(next)}` }, "Log in")]);
}
