// Hash routing (#/products/3?page=2): the server only ever serves one HTML page, and the back
// button, reloads and shared links all work. Each view gets an AbortSignal that fires when the
// reader leaves it, which stops its fetches and live streams.

const routes = [];
let currentAbort = null;
let renderCount = 0;
const afterRender = new Set();
const beforeRender = new Set();

/** route("/orders/:id", view): view({params, query, main, signal}) renders into main. */
export function route(pattern, view) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, view });
}

export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, "") || "/";
  const [path, search = ""] = raw.split("?", 2);
  return { path: path || "/", query: new URLSearchParams(search) };
}

/** The current location as "path?query" (for a login page's `next`). */
export function currentTarget() {
  return window.location.hash.replace(/^#/, "") || "/products";
}

/** Go to `#path`, with `query` as an object or URLSearchParams. */
export function navigate(path, query) {
  const search = query ? new URLSearchParams(query).toString() : "";
  const target = `#${path}${search ? `?${search}` : ""}`;
  if (window.location.hash === target) render();
  else window.location.hash = target;
}

/** Swap the current URL without a history entry (filter changes, redirects). */
export function replaceQuery(path, query) {
  const search = new URLSearchParams(query).toString();
  history.replaceState(null, "", `#${path}${search ? `?${search}` : ""}`);
}

/** listener({path, query}) after each page has rendered. */
export function onRender(listener) {
  afterRender.add(listener);
}

/** listener({path, query}) when a page starts to render (the old one is gone). */
export function onNavigate(listener) {
  beforeRender.add(listener);
}

export async function render() {
  currentAbort?.abort();
  const abort = new AbortController();
  currentAbort = abort;
  const { path, query } = parseHash();
  const main = document.getElementById("main");
  const count = ++renderCount;
  let matched = null;
  for (const candidate of routes) {
    const match = candidate.regex.exec(path);
    if (match) {
      const params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(match[i + 1])]));
      matched = { view: candidate.view, params };
      break;
    }
  }
  for (const listener of beforeRender) listener({ path, query });
  main.setAttribute("aria-busy", "true");
  window.scrollTo({ top: 0 });
  try {
    if (!matched) {
      const { notFound } = await import("./views/not-found.js");
      await notFound({ main, signal: abort.signal, path });
    } else {
      await matched.view({ params: matched.params, query, main, signal: abort.signal });
    }
  } catch (error) {
    if (error?.name !== "AbortError") throw error;
  } finally {
    if (count === renderCount) {
      main.removeAttribute("aria-busy");
      for (const listener of afterRender) listener({ path, query });
      // After a navigation, land keyboard and screen-reader users on the new page's heading.
      // Not on the first page load: there the reader starts at the top (the skip link).
      const title = main.querySelector("h1");
      if (count > 1 && title && !main.contains(document.activeElement)) title.focus({ preventScroll: true });
    }
  }
}

export function start() {
  window.addEventListener("hashchange", render);
  if (!window.location.hash) history.replaceState(null, "", "#/products");
  return render();
}
