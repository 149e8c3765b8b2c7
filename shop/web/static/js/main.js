// Start-up: the routes, the navigation bar, and what happens when the API refuses the token.

import * as api from "./api.js";
import * as cart from "./cart.js";
import * as notices from "./notices.js";
import * as session from "./session.js";
import { h, replace } from "./dom.js";
import { currentTarget, navigate, onRender, parseHash, route, start } from "./router.js";
import { catalogue } from "./views/catalogue.js";
import { productDetail } from "./views/product.js";
import { cartView } from "./views/cart.js";
import { ordersList } from "./views/orders.js";
import { orderDetail } from "./views/order.js";
import { login, register } from "./views/auth.js";
import { forgotPassword, resetPassword } from "./views/password-reset.js";
import { profile } from "./views/profile.js";
import { adminProducts } from "./views/admin/products.js";
import { adminProductForm } from "./views/admin/product-form.js";
import { adminRegistry } from "./views/admin/registry.js";
import { adminDeliveries } from "./views/admin/deliveries.js";
import { adminAttention } from "./views/admin/attention.js";
import { forbidden } from "./views/not-found.js";

/** Pages that need a login send the reader to it first, and back here afterwards. */
function loggedIn(view) {
  return (ctx) => {
    if (session.active()) return view(ctx);
    const wasExpired = session.expired();
    session.end();
    notices.flash(
      wasExpired ? "Your session has expired. Please log in again — your cart is kept." : "Please log in to continue.",
    );
    navigate("/login", { next: currentTarget() });
    return undefined;
  };
}

/** Admin pages are not offered to customers; the API refuses them anyway (403). */
function adminOnly(view) {
  return loggedIn((ctx) => (session.isAdmin() ? view(ctx) : forbidden(ctx)));
}

route("/", catalogue);
route("/products", catalogue);
route("/products/:id", productDetail);
route("/cart", cartView);
route("/login", login);
route("/register", register);
route("/forgot-password", forgotPassword);
route("/reset-password", resetPassword);
route("/orders", loggedIn(ordersList));
route("/orders/:id", loggedIn(orderDetail));
route("/profile", loggedIn(profile));
route("/admin", adminOnly(adminProducts));
route("/admin/products", adminOnly(adminProducts));
route("/admin/products/new", adminOnly(adminProductForm));
route("/admin/products/:id", adminOnly(adminProductForm));
route("/admin/registry", adminOnly(adminRegistry));
route("/admin/deliveries", adminOnly(adminDeliveries));
route("/admin/attention", adminOnly(adminAttention));

api.setUnauthorizedHandler(() => {
  // The token expired or was revoked. The cart lives under its own key, so it stays.
  if (!session.current()) return; // already handled (several requests failed at once)
  session.end();
  const { path } = parseHash();
  if (path === "/login") return;
  notices.flash("Your session has expired. Please log in again — your cart is kept.");
  navigate("/login", { next: currentTarget() });
});

function navLink(href, label, path, extra) {
  const target = href.slice(1);
  const current = path === target || (target !== "/products" && path.startsWith(`${target}/`))
    || (target === "/products" && (path === "/" || path.startsWith("/products")));
  return h("a", { href, class: "nav-link", "aria-current": current ? "page" : null }, label, extra ?? null);
}

function drawNav() {
  const { path } = parseHash();
  const user = session.active()?.user;
  const count = cart.count();
  const cartBadge = count
    ? h("span", { class: "nav-badge", "aria-label": `${count} item${count === 1 ? "" : "s"}` }, String(count))
    : null;
  replace(
    document.getElementById("nav"),
    h(
      "ul",
      { class: "nav-list" },
      h("li", {}, navLink("#/products", "Catalogue", path)),
      h("li", {}, navLink("#/cart", "Cart", path, cartBadge)),
      user ? h("li", {}, navLink("#/orders", "Orders", path)) : null,
      user?.role === "admin" ? h("li", {}, navLink("#/admin/products", "Admin", path)) : null,
      user
        ? [
            h("li", {}, navLink("#/profile", user.name || "Profile", path)),
            h("li", {}, h("button", { type: "button", class: "nav-link nav-button", onclick: logout }, "Log out")),
          ]
        : [h("li", {}, navLink("#/login", "Log in", path)), h("li", {}, navLink("#/register", "Register", path))],
    ),
  );
}

function logout() {
  session.end();
  notices.flash("You are logged out. Your cart is still here.");
  navigate("/products");
}

// "Skip to content" cannot use its #main href: the hash belongs to the router.
document.querySelector(".skip-link")?.addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});

notices.install();
session.subscribe(drawNav);
cart.subscribe(drawNav);
onRender(drawNav);
start();
