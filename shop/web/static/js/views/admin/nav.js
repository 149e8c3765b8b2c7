// The admin pages' own tabs.

import { h } from "../../dom.js";

const TABS = [
  ["#/admin/products", "Products"],
  ["#/admin/registry", "Services"],
  ["#/admin/deliveries", "Deliveries"],
  ["#/admin/attention", "Attention"],
];

export function adminNav(current) {
  return h(
    "nav",
    { class: "tabs", "aria-label": "Administration" },
    TABS.map(([href, label]) => h("a", { href, class: "tab", "aria-current": href === current ? "page" : null }, label)),
  );
}
