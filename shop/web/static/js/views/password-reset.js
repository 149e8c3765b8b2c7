// #/forgot-password and #/reset-password?token=…: a reader who forgot their password asks for a
// reset token (sent to them by the shop's mail sender, which links to the second page) and sets
// a new password with it. The first page says the same whether or not the account exists.

import * as api from "../api.js";
import * as notices from "../notices.js";
import { busy, field, h, heading, replace, showFieldErrors } from "../dom.js";
import { setTitle } from "../components.js";
import { navigate } from "../router.js";

function page(main, title, intro, form, footer) {
  replace(
    main,
    h("div", { class: "auth-page card-surface" }, heading(title), h("p", { class: "muted" }, intro), form, h("p", { class: "muted auth-switch" }, footer)),
  );
}

export function forgotPassword({ main }) {
  setTitle("Forgot password");
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const error = h("p", { class: "form-error", role: "alert", id: "forgot-error" });
  const done = h("p", { class: "form-success", role: "status", id: "forgot-done" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Send reset instructions");
  const form = h(
    "form",
    {
      novalidate: true,
      "aria-describedby": "forgot-error",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        done.textContent = "";
        if (!email.value.trim()) {
          error.textContent = "Enter the email of your account.";
          email.focus();
          return;
        }
        await busy(submit, async () => {
          try {
            const { data } = await api.post("/api/auth/forgot-password", { email: email.value.trim() }, { auth: false });
            done.textContent = data.message;
          } catch (failure) {
            error.textContent = failure.fullMessage;
          }
        });
      },
    },
    error,
    done,
    field("Email", email),
    submit,
  );
  page(main, "Forgot your password?", "We send a link to set a new one to the email of your account.", form, [
    "Remembered it? ",
    h("a", { href: "#/login" }, "Log in"),
  ]);
}

export function resetPassword({ query, main }) {
  setTitle("Set a new password");
  const token = h("input", { type: "text", name: "token", autocomplete: "one-time-code", required: true, value: query.get("token") ?? "" });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: "8" });
  const error = h("p", { class: "form-error", role: "alert", id: "reset-error" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Set new password");
  const form = h(
    "form",
    {
      novalidate: true,
      "aria-describedby": "reset-error",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        await busy(submit, async () => {
          try {
            await api.post("/api/auth/reset-password", { token: token.value.trim(), password: password.value }, { auth: false });
            notices.flash("Your password is changed. Log in with the new one.");
            navigate("/login");
          } catch (failure) {
            error.textContent = failure.fullMessage;
            showFieldErrors(form, failure.errors);
            form.querySelector("[aria-invalid]")?.focus();
          }
        });
      },
    },
    error,
    // The link from the email fills the token in; it can be pasted too.
    query.get("token") ? null : field("Reset token", token, "From the email we sent you."),
    field("New password", password, "At least 8 characters."),
    submit,
  );
  page(main, "Set a new password", "Every device logged in to your account is logged out.", form, [
    "No token? ",
    h("a", { href: "#/forgot-password" }, "Ask for a new one"),
  ]);
}
