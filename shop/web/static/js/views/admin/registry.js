// #/admin/registry — the service registry: where each service runs and whether it is healthy.

import * as api from "../../api.js";
import { busy, h, heading, replace } from "../../dom.js";
import { empty, failure, formatDate, loading, setTitle } from "../../components.js";
import { adminNav } from "./nav.js";

export async function adminRegistry({ main, signal }) {
  setTitle("Admin · Services");
  const body = h("div", {}, loading("Loading services…"));
  const refresh = h("button", { type: "button", class: "btn", onclick: () => busy(refresh, load) }, "Refresh");
  replace(main, h("div", { class: "page-head" }, heading("Administration"), refresh), adminNav("#/admin/registry"), body);
  await load();

  async function load() {
    try {
      const { data } = await api.get("/api/registry", { signal });
      if (!data.length) {
        replace(body, empty("No services are registered."));
        return;
      }
      const healthy = data.filter((entry) => entry.healthy).length;
      replace(
        body,
        h("p", { class: "muted", "aria-live": "polite" }, `${healthy} of ${data.length} services healthy.`),
        h("div", { class: "table-wrap" },
          h("table", { class: "table" },
            h("caption", { class: "visually-hidden" }, "Services"),
            h("thead", {}, h("tr", {},
              h("th", { scope: "col" }, "Service"),
              h("th", { scope: "col" }, "Runs"),
              h("th", { scope: "col" }, "Health"),
              h("th", { scope: "col" }, "Checked"),
            )),
            h("tbody", {}, data.map((entry) => h("tr", { "data-service": entry.name },
              h("th", { scope: "row" }, entry.name),
              h("td", { class: "mono" }, entry.location === "local" ? "in this process" : entry.location),
              h("td", {}, entry.healthy
                ? h("span", { class: "status status-dispatched" }, "Healthy")
                : h("span", { class: "status status-cancelled" }, "Down")),
              h("td", { class: "muted" }, entry.checked_at ? formatDate(entry.checked_at) : "not yet"),
            ))),
          ),
        ),
      );
    } catch (error) {
      if (error.name === "AbortError" || error.status === 401) return;
      replace(body, failure(error, load));
    }
  }
}
