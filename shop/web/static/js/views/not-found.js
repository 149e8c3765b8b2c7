// Pages for a link to nowhere and for a customer who opened an admin page.

import { h, heading, replace } from "../dom.js";
import { setTitle } from "../components.js";

export function notFound({ main }) {
  setTitle("Not found");
  replace(
    main,
    h("div", { class: "empty" },
      heading("Page not found"),
      h("p", {}, "There is nothing at this address."),
      h("p", {}, h("a", { href: "#/products", class: "btn btn-primary" }, "Go to the catalogue")),
    ),
  );
}

export function forbidden({ main }) {
  setTitle("Administrators only");
  replace(
    main,
    h("div", { class: "empty", "data-page": "forbidden" },
      heading("Administrators only"),
      h("p", {}, "This page is for shop administrators. Your account cannot open it."),
      h("p", {}, h("a", { href: "#/products", class: "btn btn-primary" }, "Back to the catalogue")),
    ),
  );
}
